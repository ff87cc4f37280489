package approval

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"time"
)

// view is what one page shows. Refusal pages carry no Req: a forged link learns nothing.
type view struct {
	Status    int
	Kind      string // pending, done, decided, gone, refused, error
	Heading   string
	Message   string
	Req       *Request
	Decision  *Decision
	FormToken string
	ExpiresIn string
	// Resend shows a form that sends a stored, undelivered decision again.
	Resend bool
	// Changes is the page of the plan's changes to show, if the plan has a changes file.
	Changes *changeList
}

// CanApprove is false when the page could not show the approver what approving changes.
func (v view) CanApprove() bool { return v.Changes == nil || !v.Changes.Tampered && !v.Changes.Failed }

func (s *Service) render(w http.ResponseWriter, v view) {
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		// The template is fixed and its data plain strings; this is a programming error.
		http.Error(w, "approval page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(v.Status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"utc": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
}).Parse(pageHTML))

// pageHTML is self-contained (no scripts, fonts or images) so it renders under a CSP of
// default-src 'none' and in a locked-down mail client's browser.
const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{{.Heading}} · Cognito DR approval</title>
<style>
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2430}
main{max-width:46rem;margin:2rem auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.5rem;margin:0 0 .5rem}
.kind-refused h1,.kind-error h1{color:#b3261e}.kind-gone h1{color:#8a5a00}.kind-done h1{color:#1e6b34}
.effect{font-size:1.15rem;font-weight:600;border-left:4px solid #b3261e;padding:.25rem .75rem;background:#fdf1f0}
table{border-collapse:collapse;margin:1rem 0;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e5e8;vertical-align:top}
th{font-weight:normal;color:#555;width:40%}
td.num{font-weight:600;font-variant-numeric:tabular-nums}
code,.names li{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem}
.names{margin:.25rem 0 .75rem;padding-left:1.25rem;word-break:break-all}
.meta{color:#555;font-size:.9rem}
h2{font-size:1.15rem;margin:1.25rem 0 .25rem}
table.attrs{margin:.25rem 0;width:auto}table.attrs td{border:0;padding:.1rem .5rem .1rem 0;word-break:break-all}
td.user{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem;word-break:break-all;width:35%}
form{margin-top:1.5rem;display:flex;flex-wrap:wrap;gap:.75rem;align-items:center}
input[type=text]{font:inherit;padding:.45rem .6rem;border:1px solid #aab;border-radius:4px;flex:1 1 14rem}
button{font:inherit;font-weight:600;padding:.55rem 1.4rem;border:0;border-radius:4px;cursor:pointer;color:#fff}
#approve{background:#1e6b34}#reject{background:#b3261e}#resend{background:#1d2430}
</style>
</head>
<body>
<main id="page" class="kind-{{.Kind}}" data-status="{{.Status}}" data-kind="{{.Kind}}">
<h1 id="heading">{{.Heading}}</h1>
{{with .Message}}<p id="message">{{.}}</p>{{end}}
{{with .Decision}}<p id="decision"><strong>{{.Decision}}</strong> by <strong>{{.Approver}}</strong> at {{utc .DecidedAt}}</p>{{end}}
{{if eq .Kind "pending"}}{{with .Req}}
{{with .Summary.Effect}}<p class="effect" id="effect">{{.}}</p>{{end}}
{{with .Summary.Facts}}<table id="facts">
{{range .}}<tr><th>{{.Label}}</th><td class="num">{{.Value}}</td></tr>
{{end}}</table>{{end}}
{{range .Summary.Samples}}<div class="sample"><div>{{.Label}}</div><ul class="names">
{{range .Names}}<li>{{.}}</li>{{end}}
</ul></div>
{{end}}
{{end}}{{end}}
{{if eq .Kind "pending"}}{{with .Changes}}<section id="changes">
<h2>Changes to users by API{{if not .Failed}}{{if not .Tampered}} ({{.Total}}){{end}}{{end}}</h2>
{{if .Tampered}}<p class="effect" id="changes-tampered">The plan's list of changes is no longer the one this approval was requested for: it changed in S3 since. Approving would fail (the failback refuses changed files). Reject this approval and start a new failback.</p>
{{else if .Failed}}<p class="effect" id="changes-failed">The plan's list of changes could not be read. Reload this page in a minute; approve only after you have seen it.</p>
{{else}}<p class="meta" id="changes-page">Page {{.Page}} of {{.Pages}}: every user the failback changes by API, with each attribute's value now and after.</p>
<table id="change-list">
{{range .Rows}}<tr class="change"><td class="user">{{.Key}}</td><td>{{.Kind}}{{with .Group}} <code>{{.}}</code>{{end}}{{if .Attrs}}<table class="attrs">
{{range .Attrs}}<tr><td><code>{{.Name}}</code></td><td class="was">{{.Was}}</td><td class="now">→ {{.Now}}</td></tr>
{{end}}</table>{{end}}</td></tr>
{{else}}<tr><td>No changes on this page.</td></tr>
{{end}}</table>
<p class="pages">{{with .Prev}}<a id="prev" href="{{.}}">← Previous page</a>{{end}} {{with .Next}}<a id="next" href="{{.}}">Next page →</a>{{end}}</p>
{{end}}</section>{{end}}{{end}}
{{with .Req}}<p class="meta">Execution <code id="execution">{{.ExecutionName}}</code>{{with .Summary.PlanKey}} · plan <code>{{.}}</code>{{end}}<br>
Link expires {{utc .ExpiresAt}}{{with $.ExpiresIn}} (in {{.}}){{end}}</p>{{end}}
{{if eq .Kind "pending"}}
<form method="post">
<input type="hidden" name="token" value="{{.FormToken}}">
<button type="submit" disabled hidden aria-hidden="true"></button>{{/* the default button: Enter in the name field decides nothing */}}
<input type="text" id="approver" name="approver" maxlength="80" placeholder="Your name (recorded with the decision)" autocomplete="name">
{{if .CanApprove}}<button id="approve" type="submit" name="decision" value="approve">Approve</button>{{end}}
<button id="reject" type="submit" name="decision" value="reject">Reject</button>
</form>
{{end}}
{{if .Resend}}
<form method="post">
<input type="hidden" name="token" value="{{.FormToken}}">
<button id="resend" type="submit" name="decision" value="resend">Send the recorded decision again</button>
</form>
{{end}}
</main>
</body>
</html>
`

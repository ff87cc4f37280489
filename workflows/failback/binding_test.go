package failback_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// TestFailbackRefusesATamperedPlan: each kind of file a step reads after the approval is changed
// in S3 right before the first step that reads it runs (after the approval, except for the first
// case). That step fails with PlanTampered and neither pool changes, user by user, from what it
// was right before the step; the operators are told nothing was changed by it.
func TestFailbackRefusesATamperedPlan(t *testing.T) {
	tests := []struct {
		name string
		// task is the placeholder of the step that must refuse the file.
		task, state string
		file        func(failback.Plan) string
	}{
		{"actions before the approval is requested", "RequestApprovalFunctionArn", "RequestApproval", func(p failback.Plan) string { return p.Prefix + failback.ActionsFile }},
		{"import CSV part", "UploadImportFunctionArn", "ImportParts", func(p failback.Plan) string { return p.Prefix + failback.ImportDir + "users-0001.csv" }},
		{"actions", "ApplyChangesFunctionArn", "ApplyChanges", func(p failback.Plan) string { return p.Prefix + failback.ActionsFile }},
		{"users created by API", "ApplyChangesFunctionArn", "ApplyChanges", func(p failback.Plan) string { return p.Prefix + failback.ImportUsersFile }},
		{"rejects report", "ApplyChangesFunctionArn", "ApplyChanges", func(p failback.Plan) string { return p.Prefix + failback.ImportDir + csvbuild.RejectsFile }},
		{"disable list", "DisableUsersFunctionArn", "DisableDrUsers", func(p failback.Plan) string {
			return p.Prefix + failback.DRDir + snapshot.UsersPartsDir + "part-00001.jsonl.gz"
		}},
		{"DR users index", "WriteReportFunctionArn", "WriteReport", func(p failback.Plan) string { return p.Prefix + failback.DRDir + snapshot.UsersIndexFile }},
		{"held DR users", "WriteReportFunctionArn", "WriteReport", func(p failback.Plan) string { return p.Prefix + failback.HeldFile }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var before map[string]string
			var tampered string
			f.beforeTask = map[string]func(json.RawMessage){tt.task: func(in json.RawMessage) {
				var st struct {
					Plan failback.Plan `json:"plan"`
					// Target is an import task's: it carries the plan's prefix.
					Target  importjob.Target `json:"target"`
					Payload *struct {
						Plan failback.Plan `json:"plan"`
					} `json:"Payload"`
				}
				if err := json.Unmarshal(in, &st); err != nil {
					t.Error(err)
					return
				}
				p := st.Plan
				if st.Payload != nil {
					p = st.Payload.Plan
				}
				if p.Prefix == "" {
					p.Prefix = st.Target.Prefix
				}
				tampered = tt.file(p)
				f.tamper(tampered)
				before = f.pools()
			}}
			x := f.start("failback-tampered", nil)
			if tt.state != "RequestApproval" {
				f.decide(f.approvalLink(x), "approve")
			}
			f.wait(x)
			if x.Status() != asl.StatusFailed || x.ErrorName() != "PlanTampered" || !strings.Contains(x.Cause(), tampered) ||
				!strings.Contains(x.Cause(), "changed nothing") {
				t.Fatalf("status %s %s %s; want FAILED PlanTampered naming %s; last events:\n%s", x.Status(), x.ErrorName(), x.Cause(), tampered, lastEvents(x, 6))
			}
			// Refused before the import, the failback changed nothing (FailureClean); refused later,
			// the steps before it did, and the ending says so (FailureDirty).
			ending := []string{"NotifyFailedAfterChanges", "FailureDirty"}
			if tt.state == "RequestApproval" {
				ending = []string{"NotifyFailed", "FailureClean"}
			}
			path := x.Path()
			if i := slices.Index(path, tt.state); i < 0 || !slices.Equal(path[i+1:], ending) {
				t.Errorf("path %v, want %s then %v", path, tt.state, ending)
			}
			if diff := cmp.Diff(before, f.pools()); diff != "" {
				t.Errorf("the pools changed after the plan was tampered with (-before +after):\n%s", diff)
			}
			msgs := f.stack.AWS.SNS().Messages()
			last := msgs[len(msgs)-1]
			step := strings.TrimSuffix(tt.task, "FunctionArn")
			if step == "DisableUsers" {
				step = "DisableDrUsers"
			}
			if !strings.Contains(last.Subject, "PlanTampered") || !strings.Contains(last.Message, step+" changed nothing") {
				t.Errorf("last notification %q:\n%s\nwant PlanTampered and that %s changed nothing", last.Subject, last.Message, step)
			}
		})
	}
}

// tamper rewrites one file of the plan in S3 as someone with write access to the bucket might:
// one user's given name changes (or, in a file without one, its first line is repeated).
func (f *fixture) tamper(key string) {
	f.t.Helper()
	ctx := context.Background()
	body, err := f.stack.ReadObject(ctx, f.sc.BucketRegion, f.sc.Bucket, key)
	if err != nil {
		f.t.Fatalf("tamper with %s: %v", key, err)
	}
	zipped := strings.HasSuffix(key, ".gz")
	if zipped {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			f.t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			f.t.Fatal(err)
		}
	}
	text := string(body)
	switch {
	case strings.Contains(text, "Osaka"):
		text = strings.Replace(text, "Osaka", "Intruder", 1)
	default:
		first, _, _ := strings.Cut(text, "\n")
		text += first + "\n"
	}
	body = []byte(text)
	if zipped {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	if _, err := f.stack.Clients.S3(f.sc.BucketRegion).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(f.sc.Bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		f.t.Fatal(err)
	}
}

// pools describes every user of both pools: status, enabled, attributes and groups.
func (f *fixture) pools() map[string]string {
	f.t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, pool := range []struct{ region, id string }{{f.sc.Tokyo.Region, f.sc.TokyoID}, {f.sc.Osaka.Region, f.sc.OsakaID}} {
		c := f.stack.Clients.Cognito(pool.region)
		groups := map[string][]string{}
		gp := cip.NewListGroupsPaginator(c, &cip.ListGroupsInput{UserPoolId: aws.String(pool.id)})
		for gp.HasMorePages() {
			page, err := gp.NextPage(ctx)
			if err != nil {
				f.t.Fatal(err)
			}
			for _, g := range page.Groups {
				mp := cip.NewListUsersInGroupPaginator(c, &cip.ListUsersInGroupInput{UserPoolId: aws.String(pool.id), GroupName: g.GroupName})
				for mp.HasMorePages() {
					m, err := mp.NextPage(ctx)
					if err != nil {
						f.t.Fatal(err)
					}
					for _, u := range m.Users {
						groups[aws.ToString(u.Username)] = append(groups[aws.ToString(u.Username)], aws.ToString(g.GroupName))
					}
				}
			}
		}
		up := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool.id)})
		for up.HasMorePages() {
			page, err := up.NextPage(ctx)
			if err != nil {
				f.t.Fatal(err)
			}
			for _, u := range page.Users {
				var attrs []string
				for _, a := range u.Attributes {
					attrs = append(attrs, aws.ToString(a.Name)+"="+aws.ToString(a.Value))
				}
				slices.Sort(attrs)
				g := groups[aws.ToString(u.Username)]
				slices.Sort(g)
				out[pool.id+" "+aws.ToString(u.Username)] = fmt.Sprintf("%s enabled=%v %v groups=%v", u.UserStatus, u.Enabled, attrs, g)
			}
		}
	}
	return out
}

// TestApprovalPageListsEveryChangedUser: the page the approver opens lists every existing primary
// user the failback updates, with the attribute that changes, its value in the primary now and
// after; the email names none of them.
func TestApprovalPageListsEveryChangedUser(t *testing.T) {
	f := newFixture(t)
	x := f.start("failback-page", nil)
	link := f.approvalLink(x)
	resp, err := http.Get(link)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %v %v", resp, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rows := map[string]string{}
	for _, row := range strings.Split(string(page), `<tr class="change">`)[1:] {
		user, _, _ := strings.Cut(strings.TrimPrefix(row, `<td class="user">`), "<")
		rows[user] += row
	}
	for _, email := range f.outage.Changed {
		u, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, email)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("<code>given_name</code></td><td class=\"was\">%s</td><td class=\"now\">→ Changed in Osaka", attr(u, "given_name"))
		if !strings.Contains(rows[email], want) {
			t.Errorf("%s: the page's row lacks %q:\n%s", email, want, rows[email])
		}
	}
	for _, email := range f.outage.Grouped {
		if !strings.Contains(rows[email], "add-to-group <code>outage</code>") {
			t.Errorf("%s: the page does not list the group it joins:\n%s", email, rows[email])
		}
	}
	if len(rows) != len(f.outage.Changed)+len(f.outage.Grouped)-countIn(f.outage.Grouped, f.outage.Changed) {
		t.Errorf("page lists %d users: %v", len(rows), slices.Collect(maps.Keys(rows)))
	}
	for _, m := range f.stack.AWS.SNS().Messages() {
		for _, email := range append(f.outage.Changed, f.outage.Grouped...) {
			if strings.Contains(m.Message, email) {
				t.Errorf("the approval email names %s", email)
			}
		}
		if strings.Contains(m.Message, "Changed in Osaka") || strings.Contains(m.Message, "given_name") {
			t.Errorf("the approval email holds attribute data:\n%s", m.Message)
		}
	}
}

func countIn(xs, in []string) int {
	n := 0
	for _, x := range xs {
		if slices.Contains(in, x) {
			n++
		}
	}
	return n
}

// TestActionsAreWhatTheApprovalPageReads: the page decodes failback's actions file as
// approval.Change; nothing an action changes may be lost on the way.
func TestActionsAreWhatTheApprovalPageReads(t *testing.T) {
	for _, a := range []failback.Action{
		{Kind: failback.ActionUpdate, Key: "a@example.jp", DRUsername: "u1", Set: map[string]string{"email": "b@example.jp", "email_verified": "true"},
			Unset: []string{"nickname"}, Was: map[string]string{"email": "a@example.jp", "nickname": "aa"}},
		{Kind: failback.ActionAddToGroup, Key: "a@example.jp", DRUsername: "u1", Group: "admins"},
		{Kind: failback.ActionDisablePrimary, Key: "a@example.jp", DRUsername: "u1"},
	} {
		raw, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var c approval.Change
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		want := approval.Change{Kind: a.Kind, Key: a.Key, Set: a.Set, Unset: a.Unset, Was: a.Was, Group: a.Group}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("%s as the page reads it (-want +got):\n%s", a.Kind, diff)
		}
	}
}

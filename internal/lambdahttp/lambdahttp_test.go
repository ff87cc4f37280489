package lambdahttp

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

// An API Gateway HTTP API (payload 2.0) event, trimmed, as AWS documents it.
const httpAPIEvent = `{"version":"2.0","routeKey":"$default","rawPath":"/prod/approvals/abc","rawQueryString":"exp=1&sig=x%2By",
"cookies":["a=1","b=2"],"headers":{"host":"api.example.com","content-type":"application/x-www-form-urlencoded","origin":"https://api.example.com"},
"requestContext":{"domainName":"api.example.com","http":{"method":"POST","path":"/prod/approvals/abc","sourceIp":"203.0.113.7","userAgent":"curl"},"stage":"prod"},
"body":"` + "ZGVjaXNpb249YXBwcm92ZQ==" + `","isBase64Encoded":true}`

func TestHandlerRoundTrip(t *testing.T) {
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal([]byte(httpAPIEvent), &ev); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		Method, Path, Query, Host, Remote, Body, Cookie, Origin string
	}
	var got seen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.Path, r.URL.Query().Get("sig"), r.Host, r.RemoteAddr, string(b), r.Header.Get("Cookie"), r.Header.Get("Origin")}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Add("Set-Cookie", "c=3")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, "<p>done</p>")
	})
	resp, err := Handler(h)(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	want := seen{"POST", "/prod/approvals/abc", "x+y", "api.example.com", "203.0.113.7:0", "decision=approve", "a=1; b=2", "https://api.example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	wantResp := events.LambdaFunctionURLResponse{StatusCode: 409, Headers: map[string]string{"Content-Type": "text/html"},
		Body: "<p>done</p>", Cookies: []string{"c=3"}}
	if diff := cmp.Diff(wantResp, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

func TestBinaryBodyIsBase64(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte{0xff, 0xfe}) })
	resp, _ := Handler(h)(t.Context(), events.LambdaFunctionURLRequest{RawPath: "/"})
	if !resp.IsBase64Encoded || resp.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe}) || resp.StatusCode != 200 {
		t.Errorf("got %+v", resp)
	}
}

func TestBadBase64IsBadRequest(t *testing.T) {
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler called") })
	resp, _ := Handler(h)(t.Context(), events.LambdaFunctionURLRequest{RawPath: "/", Body: "%%%", IsBase64Encoded: true})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}

// Package lambdahttp runs an http.Handler as a Lambda behind a Function URL or an API Gateway
// HTTP API. Both send the payload format 2.0 event, which decodes into
// events.LambdaFunctionURLRequest (the HTTP API's extra fields, such as routeKey and stage, are
// not needed to serve a request), and both accept the same response.
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// maxBody bounds a buffered response; the pages served this way are a few KiB, and Lambda
// responses are limited to 6 MB anyway.
const maxBody = 6 << 20

// Handler returns the Lambda handler that serves each event with h.
func Handler(h http.Handler) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		r, err := Request(ctx, ev)
		if err != nil {
			return events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest, Body: "bad request\n",
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}, nil
		}
		w := &recorder{header: http.Header{}}
		h.ServeHTTP(w, r)
		return w.response(), nil
	}
}

// Request converts a payload 2.0 event to the request a handler sees.
func Request(ctx context.Context, ev events.LambdaFunctionURLRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("decode base64 body: %w", err)
		}
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	u := &url.URL{Path: ev.RawPath, RawQuery: ev.RawQueryString}
	if ev.RawPath == "" {
		u.Path = ev.RequestContext.HTTP.Path
	}
	r, err := http.NewRequestWithContext(ctx, method, u.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	// The RequestURI of a server request; NewRequest leaves it empty and sets URL.Host instead.
	r.RequestURI = u.RequestURI()
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.URL.Host = r.Host
	r.ContentLength = int64(len(body))
	r.RemoteAddr = net.JoinHostPort(ev.RequestContext.HTTP.SourceIP, "0")
	return r, nil
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.body.Len()+len(p) > maxBody {
		return 0, fmt.Errorf("response larger than %d bytes", maxBody)
	}
	return w.body.Write(p)
}

func (w *recorder) response() events.LambdaFunctionURLResponse {
	w.WriteHeader(http.StatusOK)
	resp := events.LambdaFunctionURLResponse{StatusCode: w.status, Headers: map[string]string{}, Cookies: w.header.Values("Set-Cookie")}
	for k, vs := range w.header {
		if k != "Set-Cookie" {
			resp.Headers[k] = strings.Join(vs, ", ")
		}
	}
	if _, ok := resp.Headers["Content-Length"]; ok {
		resp.Headers["Content-Length"] = strconv.Itoa(w.body.Len())
	}
	if b := w.body.Bytes(); utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return resp
}

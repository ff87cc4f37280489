package awsclients

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// ReadOnlyBodies wraps an SDK HTTP client (nil: the SDK's default) so that request bodies never
// close the connection under a response.
//
// The SDK closes a request's body as soon as the response headers arrive, and net/http's write
// loop may still be reading that body then: after sending Content-Length bytes it reads once more
// to check that nothing is left. The SDK's body (smithy-go's safeWriteToReadCloser) answers that
// check with io.EOF from WriteTo — which io.Copy reports as an error, where a Read returning io.EOF
// is a clean end — so net/http fails the write and closes the connection while the response is
// still being read: "use of closed network connection". The SDK retries such a call, and a
// non-idempotent call (a create) may then have happened twice as far as the caller can tell. A
// fast endpoint (loopback) meets it about once in 100 test runs; AWS rarely. Hiding WriteTo makes
// net/http copy with Read, which ends cleanly whether or not the SDK closed the body first.
func ReadOnlyBodies(next aws.HTTPClient) aws.HTTPClient {
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	if _, done := next.(readOnlyBodies); done {
		return next
	}
	return readOnlyBodies{next}
}

type readOnlyBodies struct{ next aws.HTTPClient }

// Do sends r with its body reduced to Read and Close.
func (c readOnlyBodies) Do(r *http.Request) (*http.Response, error) {
	if _, ok := r.Body.(io.WriterTo); ok && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = readCloser{r.Body}
	}
	return c.next.Do(r)
}

// readCloser carries only Read and Close of the body it wraps.
type readCloser struct{ io.ReadCloser }

package loopback

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// HTTPClient returns the HTTP client every SDK client of the local AWS should use: the SDK's
// default client, with request bodies that never close the connection under a response.
//
// The SDK closes a request's body as soon as client.Do returns, and net/http's write loop may
// still be reading that body then: after sending Content-Length bytes it reads once more to check
// that nothing is left. A loopback server answers fast enough to land in that window. The SDK's
// body (smithy-go's safeWriteToReadCloser) then answers the check with io.EOF from WriteTo — which
// io.Copy reports as an error, where a Read returning io.EOF is a clean end — so net/http fails the
// write and closes the connection while the caller is still reading the response:
// "read tcp …: use of closed network connection", about once every 100 test runs. Hiding WriteTo
// makes net/http copy with Read, which ends cleanly whether or not the SDK closed the body first.
func HTTPClient() aws.HTTPClient {
	return readOnlyBodies{awshttp.NewBuildableClient()}
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

package loopback

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
)

// HTTPClient returns the HTTP client every SDK client of the local AWS should use: the SDK's
// default client with request bodies that never close the connection under a response
// (awsclients.ReadOnlyBodies says why; a loopback server answers fast enough to meet it often).
func HTTPClient() aws.HTTPClient {
	return awsclients.ReadOnlyBodies(nil)
}

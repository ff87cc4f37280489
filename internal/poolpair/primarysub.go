package poolpair

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// PrimarySubAttribute is the DR pool's custom attribute that holds a replicated user's sub in
// the primary pool. The DR pool must define it (String, mutable, max length ≥ 36), and no DR app
// client may be able to write it: only then does it prove which primary user a DR user is.
const PrimarySubAttribute = "custom:primary_sub"

// PrimarySubClaim is the ID token claim the DR pool's pre-token-generation trigger adds.
const PrimarySubClaim = "primary_sub"

// Trust says whether custom:primary_sub can identify a DR user's primary user.
type Trust struct {
	Trusted bool `json:"trusted"`
	// Writers are the DR app clients (by name and id) that can write it.
	Writers []string `json:"writers,omitempty"`
}

// Reason is the sentence a plan or a readiness report gives for an untrusted primary sub.
func (t Trust) Reason() string {
	if t.Trusted {
		return ""
	}
	return fmt.Sprintf("DR app client(s) %s can write %s (a user could set it to any primary user's sub), so DR users are matched to primary users only by a confirmed user's verified sign-in attribute; give every DR app client explicit WriteAttributes without %s",
		strings.Join(t.Writers, ", "), PrimarySubAttribute, PrimarySubAttribute)
}

// ClientWrites reports whether an app client can write attr. An empty WriteAttributes is
// treated as every attribute writable: the current API reference says such a client writes the
// standard attributes only, an older developer guide said all attributes, and for a rule that
// guards accounts the broader reading is the safe one.
func ClientWrites(c types.UserPoolClientType, attr string) bool {
	return len(c.WriteAttributes) == 0 || slices.Contains(c.WriteAttributes, attr)
}

// TrustOf decides the trust from every app client of the DR pool.
func TrustOf(clients []types.UserPoolClientType) Trust {
	t := Trust{Trusted: true}
	for _, c := range clients {
		if ClientWrites(c, PrimarySubAttribute) {
			t.Trusted = false
			t.Writers = append(t.Writers, fmt.Sprintf("%s (%s)", aws.ToString(c.ClientName), aws.ToString(c.ClientId)))
		}
	}
	return t
}

// ClientsAPI is what reading a pool's app clients calls.
type ClientsAPI interface {
	cip.ListUserPoolClientsAPIClient
	DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error)
}

// Clients describes every app client of a pool: ListUserPoolClients names them, and only
// DescribeUserPoolClient returns their WriteAttributes.
func Clients(ctx context.Context, c ClientsAPI, pool string) ([]types.UserPoolClientType, error) {
	var out []types.UserPoolClientType
	pg := cip.NewListUserPoolClientsPaginator(c, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(60)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list app clients of %s: %w", pool, err)
		}
		for _, d := range page.UserPoolClients {
			got, err := c.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: d.ClientId})
			if err != nil {
				return nil, fmt.Errorf("describe app client %s of %s: %w", aws.ToString(d.ClientId), pool, err)
			}
			out = append(out, *got.UserPoolClient)
		}
	}
	return out, nil
}

// PrimarySubTrust reads the DR pool's app clients and decides the trust.
func PrimarySubTrust(ctx context.Context, c ClientsAPI, drPool string) (Trust, error) {
	clients, err := Clients(ctx, c, drPool)
	if err != nil {
		return Trust{}, err
	}
	return TrustOf(clients), nil
}

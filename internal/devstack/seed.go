package devstack

import (
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/localcognito"
)

// PoolSpec is the user pool the demo, tests and benchmarks seed: what the original Tokyo
// deployment looks like — MFA required, email as the username, email auto-verified, one custom
// attribute, groups — and the share of users in each awkward state.
type PoolSpec struct {
	Name   string
	Region string
	Users  int
	// Seed makes the generated users reproducible.
	Seed uint64
	// UnverifiedPercent of users have email_verified=false (the original blog post's import failure).
	UnverifiedPercent int
	// DisabledPercent of users are disabled.
	DisabledPercent int
	// Groups and the percent of users in each.
	Groups map[string]int
}

// TokyoPool is the demo's primary pool.
func TokyoPool(users int) PoolSpec {
	return PoolSpec{
		Name: "tokyo-users", Region: "ap-northeast-1", Users: users, Seed: 2026,
		UnverifiedPercent: 3, DisabledPercent: 2,
		Groups: map[string]int{"admins": 1, "staff": 3, "beta": 2},
	}
}

// OsakaPool is the demo's DR pool: the same configuration, no users.
func OsakaPool() PoolSpec {
	return PoolSpec{Name: "osaka-users", Region: "ap-northeast-3", Seed: 3}
}

// Tenants are the values of custom:tenant.
var Tenants = []string{"acme", "globex", "initech", "umbrella"}

// CreatePoolInput is the pool configuration of every seeded pool.
func (p PoolSpec) CreatePoolInput() *cip.CreateUserPoolInput {
	return &cip.CreateUserPoolInput{
		PoolName:               aws.String(p.Name),
		MfaConfiguration:       types.UserPoolMfaTypeOn,
		UsernameAttributes:     []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		Schema: []types.SchemaAttributeType{
			{Name: aws.String("email"), AttributeDataType: types.AttributeDataTypeString, Required: aws.Bool(true), Mutable: aws.Bool(true)},
			{Name: aws.String("tenant"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true),
				StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String("1"), MaxLength: aws.String("64")}},
		},
	}
}

// Email is the address of the i-th seeded user.
func Email(i int) string { return fmt.Sprintf("user%07d@example.jp", i) }

// SeedUsers yields the spec's users: deterministic for a given Seed.
func (p PoolSpec) SeedUsers() iter.Seq[localcognito.SeedUser] {
	return func(yield func(localcognito.SeedUser) bool) {
		rnd := rand.New(rand.NewPCG(p.Seed, 7))
		groups := slices.Sorted(maps.Keys(p.Groups)) // a fixed order keeps the users reproducible
		for i := range p.Users {
			attrs := map[string]string{
				"email":          Email(i),
				"email_verified": "true",
				"given_name":     fmt.Sprintf("Given%d", i),
				"family_name":    fmt.Sprintf("Family%d", i%997),
				"custom:tenant":  Tenants[i%len(Tenants)],
			}
			u := localcognito.SeedUser{Attributes: attrs, Enabled: true, Status: "CONFIRMED"}
			if rnd.IntN(100) < p.UnverifiedPercent {
				attrs["email_verified"] = "false"
				if rnd.IntN(2) == 0 {
					u.Status = "UNCONFIRMED"
				}
			}
			if rnd.IntN(100) < p.DisabledPercent {
				u.Enabled = false
			}
			if i%5 == 0 {
				attrs["phone_number"] = fmt.Sprintf("+8190%08d", i%100000000)
				attrs["phone_number_verified"] = "true"
			}
			if u.Status == "CONFIRMED" {
				u.HasSoftwareToken = true
				u.MFAEnabled = []string{"SOFTWARE_TOKEN_MFA"}
				u.MFAPreferred = "SOFTWARE_TOKEN_MFA"
			}
			for _, g := range groups {
				if rnd.IntN(100) < p.Groups[g] {
					u.Groups = append(u.Groups, g)
				}
			}
			if !yield(u) {
				return
			}
		}
	}
}

package devstack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
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
	// DR pools define custom:primary_sub, where replication records each user's primary sub.
	DR bool
	// CaseSensitive, when set, is the pool's UsernameConfiguration.CaseSensitive; nil creates
	// the pool without UsernameConfiguration, which AWS makes case sensitive.
	CaseSensitive *bool
	// Synthetic, when set, gives the pool these users generated on demand instead of Users
	// stored ones (localcognito.Synthetic): pools of millions in tens of bytes per user.
	Synthetic *localcognito.Synthetic `json:",omitempty"`
}

// Dates of the synthetic scenario, fixed so a benchmark knows them without asking the stack:
// the primary's users were created, then copied to the DR pool, then the primary failed
// (SyntheticFailover) and the DR pool's drift happened.
var (
	SyntheticCreated  = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	SyntheticCopied   = SyntheticCreated.Add(24 * time.Hour)
	SyntheticFailover = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	SyntheticDrifted  = SyntheticFailover.Add(6 * time.Hour)
)

// SyntheticPools are the synthetic scenario's pools: a Tokyo pool of users generated from their
// index (2% disabled, the demo's groups), and its Osaka DR copy with driftPercent of drift
// (localcognito.DRCopy): changed and disabled copies and DR-only sign-ups since the failover.
func SyntheticPools(users, driftPercent int) (tokyo, osaka PoolSpec) {
	tokyo, osaka = TokyoPool(users), OsakaPool()
	primary := localcognito.Synthetic{Users: users, Seed: tokyo.Seed, DisabledPercent: tokyo.DisabledPercent, Groups: tokyo.Groups, Created: SyntheticCreated}
	dr := localcognito.DRCopy(primary, osaka.Seed, driftPercent, SyntheticCopied, SyntheticDrifted)
	tokyo.Synthetic, osaka.Synthetic = &primary, &dr
	tokyo.UnverifiedPercent = 0
	osaka.Users = dr.Users
	return tokyo, osaka
}

// CaseSensitivities are the two kinds of pool a workflow test runs against: AWS's default
// (case sensitive, no UsernameConfiguration) and CaseSensitive false.
var CaseSensitivities = []struct {
	Name  string
	Value *bool
}{{"case-sensitive", nil}, {"case-insensitive", aws.Bool(false)}}

// WithCaseSensitive returns the spec with UsernameConfiguration.CaseSensitive set to v.
func (p PoolSpec) WithCaseSensitive(v *bool) PoolSpec {
	p.CaseSensitive = v
	return p
}

// TokyoPool is the demo's primary pool.
func TokyoPool(users int) PoolSpec {
	return PoolSpec{
		Name: "tokyo-users", Region: "ap-northeast-1", Users: users, Seed: 2026,
		UnverifiedPercent: 3, DisabledPercent: 2,
		Groups: map[string]int{"admins": 1, "staff": 3, "beta": 2},
	}
}

// OsakaPool is the demo's DR pool: the same configuration plus custom:primary_sub, no users.
func OsakaPool() PoolSpec {
	return PoolSpec{Name: "osaka-users", Region: "ap-northeast-3", Seed: 3, DR: true}
}

// Tenants are the values of custom:tenant.
var Tenants = []string{"acme", "globex", "initech", "umbrella"}

// CreatePoolInput is the pool configuration of every seeded pool.
func (p PoolSpec) CreatePoolInput() *cip.CreateUserPoolInput {
	in := &cip.CreateUserPoolInput{
		PoolName:               aws.String(p.Name),
		MfaConfiguration:       types.UserPoolMfaTypeOn,
		UsernameAttributes:     []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		// Recovery emails every user (password resets, invitations): more than Cognito's default
		// sender's 50 a day, so the pools send with SES, as readiness requires.
		EmailConfiguration: &types.EmailConfigurationType{EmailSendingAccount: types.EmailSendingAccountTypeDeveloper,
			SourceArn: aws.String("arn:aws:ses:" + p.Region + ":" + localaws.DefaultAccountID + ":identity/example.jp"), From: aws.String("no-reply@example.jp")},
		Schema: []types.SchemaAttributeType{
			{Name: aws.String("email"), AttributeDataType: types.AttributeDataTypeString, Required: aws.Bool(true), Mutable: aws.Bool(true)},
			{Name: aws.String("tenant"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true),
				StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String("1"), MaxLength: aws.String("64")}},
		},
	}
	if p.CaseSensitive != nil {
		in.UsernameConfiguration = &types.UsernameConfigurationType{CaseSensitive: p.CaseSensitive}
	}
	if p.DR {
		in.Schema = append(in.Schema, types.SchemaAttributeType{Name: aws.String("primary_sub"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true),
			StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String("36"), MaxLength: aws.String("36")}})
	}
	return in
}

// Sub is the sub of the i-th user of a pool seeded with seed: a v4-shaped UUID derived from
// both, so a replicated copy can record it without listing the pool.
func Sub(seed uint64, i int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%d", seed, i))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
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
				"sub":            Sub(p.Seed, i),
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

package readiness

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
)

// poolChecks are the checks that compare the two pools, in report order.
var poolChecks = []string{CheckSignIn, CheckMFA, CheckPasswordPolicy, CheckSchema, CheckPrimarySub, CheckGroups}

// pools compares the DR pool's configuration with the primary's.
func (c *Checker) pools(ctx context.Context, cfg Config) []Check {
	pc, dc := c.Cognito(cfg.PrimaryRegion), c.Cognito(cfg.DRRegion)
	p, err := preflight.DescribePool(ctx, pc, cfg.PrimaryPool, cfg.PrimaryRegion)
	if err == nil {
		var d *types.UserPoolType
		if d, err = preflight.DescribePool(ctx, dc, cfg.DRPool, cfg.DRRegion); err == nil {
			return []Check{
				signIn(p, d),
				mfa(ctx, pc, dc, p, d),
				passwordPolicy(p, d),
				schema(p, d),
				primarySub(ctx, dc, cfg),
				groups(ctx, pc, dc, cfg),
			}
		}
	}
	out := make([]Check, len(poolChecks))
	for i, name := range poolChecks {
		out[i] = failed(name, err)
	}
	return out
}

// signIn compares how users sign in: replication and failback match users by the sign-in
// attribute and refuse pools that sign in differently.
func signIn(p, d *types.UserPoolType) Check {
	var f findings
	if a, b := sortedStrings(p.UsernameAttributes), sortedStrings(d.UsernameAttributes); !slices.Equal(a, b) {
		f.failf("username attributes differ: primary %s, DR %s (users would sign in with another identifier; reconcile and failback refuse the pair)", list(a), list(b))
	}
	if a, b := sortedStrings(p.AliasAttributes), sortedStrings(d.AliasAttributes); !slices.Equal(a, b) {
		f.failf("alias attributes differ: primary %s, DR %s", list(a), list(b))
	}
	if a, b := sortedStrings(p.AutoVerifiedAttributes), sortedStrings(d.AutoVerifiedAttributes); !slices.Equal(a, b) {
		f.warnf("auto-verified attributes differ: primary %s, DR %s (imports require a verified auto-verified attribute)", list(a), list(b))
	}
	if a, b := poolpair.CaseSensitive(p), poolpair.CaseSensitive(d); a != b {
		f.warnf("username case sensitivity differs: primary %v, DR %v (users are then matched only in their exact case)", a, b)
	}
	return f.check(CheckSignIn, fmt.Sprintf("username %s, aliases %s, auto-verified %s in both",
		list(sortedStrings(p.UsernameAttributes)), list(sortedStrings(p.AliasAttributes)), list(sortedStrings(p.AutoVerifiedAttributes))))
}

// factors is which MFA factors a pool offers.
type factors struct{ totp, sms, email bool }

func (f factors) String() string {
	var s []string
	if f.totp {
		s = append(s, "TOTP")
	}
	if f.sms {
		s = append(s, "SMS")
	}
	if f.email {
		s = append(s, "email")
	}
	return list(s)
}

func mfaFactors(ctx context.Context, c Cognito, pool string) (factors, error) {
	out, err := c.GetUserPoolMfaConfig(ctx, &cip.GetUserPoolMfaConfigInput{UserPoolId: aws.String(pool)})
	if err != nil {
		return factors{}, fmt.Errorf("get MFA configuration of %s: %w", pool, err)
	}
	return factors{
		totp:  out.SoftwareTokenMfaConfiguration != nil && out.SoftwareTokenMfaConfiguration.Enabled,
		sms:   out.SmsMfaConfiguration != nil,
		email: out.EmailMfaConfiguration != nil,
	}, nil
}

func mfaMode(p *types.UserPoolType) types.UserPoolMfaType {
	if p.MfaConfiguration == "" {
		return types.UserPoolMfaTypeOff
	}
	return p.MfaConfiguration
}

// mfa fails when the DR pool would let in without MFA a user the primary would ask for it.
func mfa(ctx context.Context, pc, dc Cognito, p, d *types.UserPoolType) Check {
	var f findings
	pm, dm := mfaMode(p), mfaMode(d)
	switch {
	case pm == types.UserPoolMfaTypeOn && dm != types.UserPoolMfaTypeOn:
		f.failf("MFA is ON in the primary but %s in DR: the DR pool would let users in without MFA", dm)
	case pm == types.UserPoolMfaTypeOptional && dm == types.UserPoolMfaTypeOff:
		f.failf("MFA is OPTIONAL in the primary but OFF in DR: users who turned MFA on would sign in without it")
	case pm != dm:
		f.warnf("MFA is %s in the primary, %s in DR", pm, dm)
	}
	pf, perr := mfaFactors(ctx, pc, aws.ToString(p.Id))
	df, derr := mfaFactors(ctx, dc, aws.ToString(d.Id))
	switch {
	case perr != nil || derr != nil:
		f.warnf("MFA factors not compared: %v", firstErr(perr, derr))
	case pm != types.UserPoolMfaTypeOff && pf.totp && !df.totp:
		f.failf("TOTP is enabled in the primary but not in DR: users cannot set up an authenticator there (MFA_SETUP)")
	case pf != df:
		f.warnf("MFA factors differ: primary %s, DR %s", pf, df)
	}
	ok := fmt.Sprintf("MFA %s in both", pm)
	if perr == nil && pm != types.UserPoolMfaTypeOff {
		ok += ", factors " + pf.String()
	}
	return f.check(CheckMFA, ok)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// passwordPolicy warns on any difference: users reset their password in DR, under its policy.
func passwordPolicy(p, d *types.UserPoolType) Check {
	a, b := policy(p), policy(d)
	var f findings
	diff := func(name string, x, y any) {
		if x != y {
			f.warnf("password %s: primary %v, DR %v", name, x, y)
		}
	}
	diff("minimum length", aws.ToInt32(a.MinimumLength), aws.ToInt32(b.MinimumLength))
	diff("requires uppercase", a.RequireUppercase, b.RequireUppercase)
	diff("requires lowercase", a.RequireLowercase, b.RequireLowercase)
	diff("requires numbers", a.RequireNumbers, b.RequireNumbers)
	diff("requires symbols", a.RequireSymbols, b.RequireSymbols)
	diff("history size", aws.ToInt32(a.PasswordHistorySize), aws.ToInt32(b.PasswordHistorySize))
	diff("temporary password validity days", a.TemporaryPasswordValidityDays, b.TemporaryPasswordValidityDays)
	return f.check(CheckPasswordPolicy, fmt.Sprintf("same policy (minimum length %d)", aws.ToInt32(a.MinimumLength)))
}

func policy(p *types.UserPoolType) types.PasswordPolicyType {
	if p.Policies == nil || p.Policies.PasswordPolicy == nil {
		return types.PasswordPolicyType{}
	}
	return *p.Policies.PasswordPolicy
}

// schema fails when the DR pool would refuse an attribute value the primary holds: replication's
// AdminCreateUser/AdminUpdateUserAttributes and a restore's import would be rejected.
func schema(p, d *types.UserPoolType) Check {
	dr := map[string]types.SchemaAttributeType{}
	for _, a := range d.SchemaAttributes {
		dr[aws.ToString(a.Name)] = a
	}
	primary := map[string]bool{}
	var f findings
	for _, a := range p.SchemaAttributes {
		name := aws.ToString(a.Name)
		primary[name] = true
		b, ok := dr[name]
		if !ok {
			f.failf("%s is missing in DR: its values cannot be copied or imported", name)
			continue
		}
		if a.AttributeDataType != b.AttributeDataType {
			f.failf("%s is %s in the primary but %s in DR", name, a.AttributeDataType, b.AttributeDataType)
			continue
		}
		switch pm, dm := poolpair.Mutable(a), poolpair.Mutable(b); {
		case pm && !dm:
			f.failf("%s is immutable in DR but mutable in the primary: replication cannot update it", name)
		case !pm && dm:
			f.warnf("%s is mutable in DR but immutable in the primary", name)
		}
		switch pr, dr := aws.ToBool(a.Required), aws.ToBool(b.Required); {
		case dr && !pr:
			f.failf("%s is required in DR but not in the primary: users without it cannot be copied or imported", name)
		case pr && !dr:
			f.warnf("%s is required in the primary but not in DR", name)
		}
		constraints(&f, name, a, b)
	}
	for _, b := range d.SchemaAttributes {
		name := aws.ToString(b.Name)
		if !primary[name] && aws.ToBool(b.Required) {
			f.failf("DR requires %s, which the primary does not define: no user can be copied or imported", name)
		}
	}
	ps, ok := dr[poolpair.PrimarySubAttribute]
	switch {
	case !ok:
		f.warnf("DR has no %s: replicated users lose the link to their primary sub (and reconcile refuses the pool)", poolpair.PrimarySubAttribute)
	case ps.AttributeDataType != types.AttributeDataTypeString || !poolpair.Mutable(ps):
		f.warnf("DR's %s is %s, mutable=%v: replication needs a mutable String", poolpair.PrimarySubAttribute, ps.AttributeDataType, poolpair.Mutable(ps))
	}
	return f.check(CheckSchema, fmt.Sprintf("all %d primary attributes match in DR, %s present", len(p.SchemaAttributes), poolpair.PrimarySubAttribute))
}

// primarySub fails when a DR app client can write custom:primary_sub: a user could then claim
// any primary user's sub, so failback and reconcile stop trusting it (they match by a confirmed
// user's verified sign-in value alone) and apps keyed by the primary_sub claim would be misled.
func primarySub(ctx context.Context, dc Cognito, cfg Config) Check {
	trust, err := poolpair.PrimarySubTrust(ctx, dc, cfg.DRPool)
	if err != nil {
		return failed(CheckPrimarySub, err)
	}
	var f findings
	if !trust.Trusted {
		f.failf("%s", trust.Reason())
	}
	return f.check(CheckPrimarySub, fmt.Sprintf("no DR app client can write %s", poolpair.PrimarySubAttribute))
}

// constraints compares length or value bounds: a stricter DR bound refuses values the primary
// accepted; a looser one is drift, not a failure.
func constraints(f *findings, name string, a, b types.SchemaAttributeType) {
	var what string
	var pmin, pmax, dmin, dmax float64
	switch a.AttributeDataType {
	case types.AttributeDataTypeString:
		what = "length"
		pmin, pmax = stringBounds(a.StringAttributeConstraints)
		dmin, dmax = stringBounds(b.StringAttributeConstraints)
	case types.AttributeDataTypeNumber:
		what = "value"
		pmin, pmax = numberBounds(a.NumberAttributeConstraints)
		dmin, dmax = numberBounds(b.NumberAttributeConstraints)
	default:
		return
	}
	if dmin > pmin {
		f.failf("%s: DR minimum %s %s is stricter than the primary's %s: values the primary accepts would be refused", name, what, bound(dmin), bound(pmin))
	} else if dmin < pmin {
		f.warnf("%s: DR minimum %s %s is looser than the primary's %s", name, what, bound(dmin), bound(pmin))
	}
	if dmax < pmax {
		f.failf("%s: DR maximum %s %s is stricter than the primary's %s: values the primary accepts would be refused", name, what, bound(dmax), bound(pmax))
	} else if dmax > pmax {
		f.warnf("%s: DR maximum %s %s is looser than the primary's %s", name, what, bound(dmax), bound(pmax))
	}
}

// stringBounds are a string attribute's length bounds; Cognito's defaults are 0 and 2048.
func stringBounds(c *types.StringAttributeConstraintsType) (float64, float64) {
	lo, hi := 0.0, 2048.0
	if c != nil {
		lo = parseBound(c.MinLength, lo)
		hi = parseBound(c.MaxLength, hi)
	}
	return lo, hi
}

// numberBounds are a number attribute's value bounds; without one it is unbounded.
func numberBounds(c *types.NumberAttributeConstraintsType) (float64, float64) {
	lo, hi := math.Inf(-1), math.Inf(1)
	if c != nil {
		lo = parseBound(c.MinValue, lo)
		hi = parseBound(c.MaxValue, hi)
	}
	return lo, hi
}

func parseBound(s *string, def float64) float64 {
	if s == nil || *s == "" {
		return def
	}
	v, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return def
	}
	return v
}

func bound(v float64) string {
	if math.IsInf(v, 0) {
		return "none"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// groups warns about primary groups the DR pool lacks: memberships would be lost at failover
// (reconcile creates them, so a gap means reconcile has not run since they were added).
func groups(ctx context.Context, pc, dc Cognito, cfg Config) Check {
	p, err := groupNames(ctx, pc, cfg.PrimaryPool)
	if err != nil {
		return failed(CheckGroups, err)
	}
	d, err := groupNames(ctx, dc, cfg.DRPool)
	if err != nil {
		return failed(CheckGroups, err)
	}
	var missing []string
	for _, g := range p {
		if _, ok := slices.BinarySearch(d, g); !ok {
			missing = append(missing, g)
		}
	}
	var f findings
	if len(missing) > 0 {
		names := strings.Join(missing[:min(5, len(missing))], ", ")
		if len(missing) > 5 {
			names += fmt.Sprintf(", … (%d more)", len(missing)-5)
		}
		f.warnf("%d of %d primary groups missing in DR: %s", len(missing), len(p), names)
	}
	return f.check(CheckGroups, fmt.Sprintf("all %d primary groups exist in DR", len(p)))
}

func groupNames(ctx context.Context, c Cognito, pool string) ([]string, error) {
	var names []string
	pages := cip.NewListGroupsPaginator(c, &cip.ListGroupsInput{UserPoolId: aws.String(pool), Limit: aws.Int32(60)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list groups of %s: %w", pool, err)
		}
		for _, g := range out.Groups {
			names = append(names, aws.ToString(g.GroupName))
		}
	}
	slices.Sort(names)
	return names, nil
}

func sortedStrings[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	slices.Sort(out)
	return out
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "+")
}

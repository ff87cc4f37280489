package poolconfig

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Gaps is what stands between a snapshot's users and a target pool.
type Gaps struct {
	// Target is the pool compared.
	Target string `json:"target"`
	// Missing are the snapshot pool's custom attributes the target lacks, ready for
	// AddCustomAttributes (names without the "custom:" prefix).
	Missing []types.SchemaAttributeType `json:"missing,omitempty"`
	// Incompatible are differences no call can repair (type, constraints, mutability, a required
	// attribute, case sensitivity, username attributes: all fixed at creation): the target is
	// unfit for the snapshot.
	Incompatible []string `json:"incompatible,omitempty"`
	// Notes are differences that do not stop a restore but change how users sign in.
	Notes []string `json:"notes,omitempty"`
}

// Err is nil when the target can take the snapshot's users: PoolNotImportable naming every
// incompatibility, and the missing custom attributes unless addMissing (the caller will add them
// with AddMissing).
func (g Gaps) Err(addMissing bool) error {
	problems := slices.Clone(g.Incompatible)
	if !addMissing && len(g.Missing) > 0 {
		names := make([]string, len(g.Missing))
		for i, m := range g.Missing {
			names[i] = "custom:" + aws.ToString(m.Name)
		}
		problems = append(problems, fmt.Sprintf("the target lacks the custom attributes %s (allow adding them, or add them with AddCustomAttributes)", strings.Join(names, ", ")))
	}
	if len(problems) == 0 {
		return nil
	}
	return &stateerr.PoolNotImportable{Msg: fmt.Sprintf("target pool %s cannot take this snapshot: %s", g.Target, strings.Join(problems, "; "))}
}

// SchemaGaps compares the snapshot's pool (cfg) with target, DescribeUserPool's answer for the
// pool a restore writes to.
func SchemaGaps(cfg Config, target *types.UserPoolType) Gaps {
	var g Gaps
	if target != nil {
		g.Target = aws.ToString(target.Id)
	}
	if target == nil {
		g.Incompatible = append(g.Incompatible, "no target pool description")
		return g
	}
	have := map[string]types.SchemaAttributeType{}
	for _, a := range target.SchemaAttributes {
		have[normalName(aws.ToString(a.Name))] = a
	}
	required := map[string]bool{}
	for _, a := range cfg.Pool.SchemaAttributes {
		name := normalName(aws.ToString(a.Name))
		required[name] = aws.ToBool(a.Required)
		t, ok := have[name]
		short, custom := customName(aws.ToString(a.Name))
		switch {
		case !ok && custom:
			add := a
			add.Name, add.Required = aws.String(short), aws.Bool(false)
			g.Missing = append(g.Missing, add)
		case !ok:
			// A standard attribute AWS added since the snapshot: nothing to copy into it.
		default:
			g.Incompatible = append(g.Incompatible, attributeClashes(name, a, t)...)
		}
	}
	for _, t := range target.SchemaAttributes {
		name := normalName(aws.ToString(t.Name))
		// Users of the snapshot's pool may lack an attribute the target requires.
		if aws.ToBool(t.Required) && !required[name] {
			g.Incompatible = append(g.Incompatible, fmt.Sprintf("%s is required in the target but not in the snapshot's pool", name))
		}
	}
	if a, b := caseSensitive(cfg.Pool.UsernameConfiguration), caseSensitive(target.UsernameConfiguration); a != b {
		g.Incompatible = append(g.Incompatible, fmt.Sprintf("usernames are %s in the snapshot's pool and %s in the target", sensitivity(a), sensitivity(b)))
	}
	if a, b := enumSet(cfg.Pool.UsernameAttributes), enumSet(target.UsernameAttributes); a != b {
		g.Incompatible = append(g.Incompatible, fmt.Sprintf("username attributes differ: snapshot [%s], target [%s]", a, b))
	}
	if a, b := enumSet(cfg.Pool.AliasAttributes), enumSet(target.AliasAttributes); a != b {
		g.Notes = append(g.Notes, fmt.Sprintf("alias attributes differ: snapshot [%s], target [%s]", a, b))
	}
	return g
}

// attributeClashes lists what makes target's definition of an attribute unfit for values of the
// snapshot's definition.
func attributeClashes(name string, snap, target types.SchemaAttributeType) []string {
	var out []string
	if snap.AttributeDataType != target.AttributeDataType {
		return []string{fmt.Sprintf("%s is %s in the snapshot's pool and %s in the target", name, snap.AttributeDataType, target.AttributeDataType)}
	}
	if m, n := mutable(snap), mutable(target); m != n {
		out = append(out, fmt.Sprintf("%s is %s in the snapshot's pool and %s in the target", name, mutability(m), mutability(n)))
	}
	if aws.ToBool(snap.DeveloperOnlyAttribute) != aws.ToBool(target.DeveloperOnlyAttribute) {
		out = append(out, fmt.Sprintf("%s is developer-only in one pool and not in the other", name))
	}
	if s, t := snap.StringAttributeConstraints, target.StringAttributeConstraints; t != nil {
		if narrower(bound(s, true), bound(t, true), true) || narrower(bound(s, false), bound(t, false), false) {
			out = append(out, fmt.Sprintf("%s allows lengths %s in the snapshot's pool but %s in the target", name, lengths(s), lengths(t)))
		}
	}
	if s, t := snap.NumberAttributeConstraints, target.NumberAttributeConstraints; t != nil {
		var smin, smax *string
		if s != nil {
			smin, smax = s.MinValue, s.MaxValue
		}
		if narrower(num(smin), num(t.MinValue), true) || narrower(num(smax), num(t.MaxValue), false) {
			out = append(out, fmt.Sprintf("%s allows values [%s, %s] in the snapshot's pool but [%s, %s] in the target", name, orAny(smin), orAny(smax), orAny(t.MinValue), orAny(t.MaxValue)))
		}
	}
	return out
}

// narrower says whether the target's bound t excludes values the snapshot's bound s allows (a
// lower bound when lower, else an upper bound). nil is no bound.
func narrower(s, t *float64, lower bool) bool {
	switch {
	case t == nil:
		return false
	case s == nil:
		return true
	case lower:
		return *t > *s
	}
	return *t < *s
}

func bound(c *types.StringAttributeConstraintsType, lower bool) *float64 {
	if c == nil {
		return nil
	}
	if lower {
		return num(c.MinLength)
	}
	return num(c.MaxLength)
}

func num(s *string) *float64 {
	if s == nil {
		return nil
	}
	v, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return nil
	}
	return &v
}

func lengths(c *types.StringAttributeConstraintsType) string {
	if c == nil {
		return "[any]"
	}
	return fmt.Sprintf("[%s, %s]", orAny(c.MinLength), orAny(c.MaxLength))
}

func orAny(s *string) string {
	if s == nil {
		return "any"
	}
	return *s
}

// mutable reads Mutable as AWS defines it: an attribute is mutable unless it says false.
func mutable(a types.SchemaAttributeType) bool { return a.Mutable == nil || *a.Mutable }

func mutability(m bool) string {
	if m {
		return "mutable"
	}
	return "immutable"
}

// normalName is an attribute's name as users carry it ("dev:custom:x" → "custom:x").
func normalName(n string) string { return strings.TrimPrefix(n, "dev:") }

// caseSensitive reads UsernameConfiguration as AWS does: case sensitive unless it says false.
func caseSensitive(c *types.UsernameConfigurationType) bool {
	return c == nil || c.CaseSensitive == nil || *c.CaseSensitive
}

func sensitivity(s bool) string {
	if s {
		return "case sensitive"
	}
	return "case insensitive"
}

func enumSet[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ", ")
}

// AddAPI is what AddMissing calls.
type AddAPI interface {
	AddCustomAttributes(ctx context.Context, in *cip.AddCustomAttributesInput, optFns ...func(*cip.Options)) (*cip.AddCustomAttributesOutput, error)
}

// maxAddPerCall is AddCustomAttributes' limit on CustomAttributes.
const maxAddPerCall = 25

// AddMissing adds gaps.Missing to poolID with AddCustomAttributes, paced by pacer.
func AddMissing(ctx context.Context, api AddAPI, pacer *quota.Pacer, poolID string, gaps Gaps) error {
	for chunk := range slices.Chunk(gaps.Missing, maxAddPerCall) {
		if err := pacer.Wait(ctx, "AddCustomAttributes"); err != nil {
			return err
		}
		if _, err := api.AddCustomAttributes(ctx, &cip.AddCustomAttributesInput{UserPoolId: aws.String(poolID), CustomAttributes: chunk}); err != nil {
			return fmt.Errorf("add %d custom attributes to %s: %w", len(chunk), poolID, err)
		}
	}
	return nil
}

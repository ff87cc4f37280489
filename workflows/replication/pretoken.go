package replication

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
)

// PreTokenGeneration is the DR pool's pre-token-generation trigger: it adds the claim
// primary_sub, the user's sub in the primary pool (custom:primary_sub), to the ID token, so an
// app that keys its data by the primary sub finds it after failover. Users created in the DR
// pool itself have no primary sub and get no claim: their own sub is their key.
func (s *Steps) PreTokenGeneration(_ context.Context, ev events.CognitoEventUserPoolsPreTokenGen) (events.CognitoEventUserPoolsPreTokenGen, error) {
	v := ev.Request.UserAttributes[PrimarySubAttribute]
	if v == "" {
		return ev, nil
	}
	claims := ev.Response.ClaimsOverrideDetails.ClaimsToAddOrOverride
	if claims == nil {
		claims = map[string]string{}
		ev.Response.ClaimsOverrideDetails.ClaimsToAddOrOverride = claims
	}
	claims[PrimarySubClaim] = v
	return ev, nil
}

// PreTokenTrigger adapts PreTokenGeneration to a Lambda invocation without a gate: the
// pre-token gate trigger (PreTokenGenerationTrigger) less the mode check and the chain.
func PreTokenTrigger(_ *Steps, log *slog.Logger) boundary.Func {
	return GateTrigger("pre-token", &Gatekeeper{}, AddPrimarySub, log)
}

// AddPrimarySub is the pre-token trigger's work after the gate: lenient decoding, and the
// primary_sub claim (PreTokenGeneration) written into the event as received, so fields this
// code does not know pass through. Version 1 events get
// response.claimsOverrideDetails.claimsToAddOrOverride; version 2 and 3 events (Essentials and
// Plus pools) get response.claimsAndScopeOverrideDetails.idTokenGeneration.claimsToAddOrOverride.
// A failure would block sign-in, so on error the caller passes the event unchanged.
func AddPrimarySub(payload json.RawMessage) (json.RawMessage, []any, error) {
	var ev events.CognitoEventUserPoolsPreTokenGen
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, []any{slog.Bool("claim_added", false)}, fmt.Errorf("pre-token event not understood; token issued without primary_sub: %w", err)
	}
	ev, _ = (&Steps{}).PreTokenGeneration(context.Background(), ev)
	v, ok := ev.Response.ClaimsOverrideDetails.ClaimsToAddOrOverride[PrimarySubClaim]
	if !ok {
		return payload, []any{slog.Bool("claim_added", false)}, nil
	}
	path := []string{"response", "claimsOverrideDetails", "claimsToAddOrOverride"}
	if ev.Version == "2" || ev.Version == "3" {
		path = []string{"response", "claimsAndScopeOverrideDetails", "idTokenGeneration", "claimsToAddOrOverride"}
	}
	out, err := setJSON(payload, path, PrimarySubClaim, v)
	if err != nil {
		return nil, []any{slog.Bool("claim_added", false)}, fmt.Errorf("token issued without primary_sub: %w", err)
	}
	return out, []any{slog.Bool("claim_added", true)}, nil
}

// setJSON sets obj[path...][key] = value in a JSON object, creating the objects on the path
// (a null counts as absent) and keeping every other member.
func setJSON(raw json.RawMessage, path []string, key string, value any) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%v is not a JSON object", path)
		}
		if m == nil {
			m = map[string]json.RawMessage{}
		}
	}
	if len(path) == 0 {
		b, err := json.Marshal(value)
		if err != nil {
			return nil, err
		}
		m[key] = b
	} else {
		inner, err := setJSON(m[path[0]], path[1:], key, value)
		if err != nil {
			return nil, err
		}
		m[path[0]] = inner
	}
	return json.Marshal(m)
}

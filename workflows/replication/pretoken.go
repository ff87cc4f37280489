package replication

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

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

// PreTokenTrigger adapts PreTokenGeneration to a Lambda invocation: lenient decoding, and the
// claims written into the event as received, so fields this code does not know pass through.
// Version 1 events get response.claimsOverrideDetails.claimsToAddOrOverride; version 2 and 3
// events (Essentials and Plus pools) get
// response.claimsAndScopeOverrideDetails.idTokenGeneration.claimsToAddOrOverride. A failure
// would block sign-in, so an event it cannot read passes unchanged.
func PreTokenTrigger(s *Steps, log *slog.Logger) boundary.Func {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		start := time.Now()
		attrs := []any{slog.String("task", "pre-token")}
		var ev events.CognitoEventUserPoolsPreTokenGen
		err := json.Unmarshal(payload, &ev)
		out := payload
		if err == nil {
			ev, err = s.PreTokenGeneration(ctx, ev)
		}
		added := false
		if err == nil {
			path := []string{"response", "claimsOverrideDetails", "claimsToAddOrOverride"}
			if ev.Version == "2" || ev.Version == "3" {
				path = []string{"response", "claimsAndScopeOverrideDetails", "idTokenGeneration", "claimsToAddOrOverride"}
			}
			for k, v := range ev.Response.ClaimsOverrideDetails.ClaimsToAddOrOverride {
				if k != PrimarySubClaim {
					continue
				}
				if out, err = setJSON(out, path, k, v); err != nil {
					out = payload
				}
				added = err == nil
			}
		}
		attrs = append(attrs, slog.String("user_pool", ev.UserPoolID), slog.String("trigger_source", ev.TriggerSource), slog.Bool("claim_added", added), slog.Duration("elapsed", time.Since(start)))
		if err != nil {
			log.ErrorContext(ctx, "pre-token event not understood; token issued without primary_sub", append(attrs, slog.String("error", err.Error()))...)
			return payload, nil
		}
		log.InfoContext(ctx, "pre-token done", attrs...)
		return out, nil
	}
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

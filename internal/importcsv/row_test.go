package importcsv

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

func TestRowMFAEnabled(t *testing.T) {
	none := (*snapshot.MFA)(nil)
	empty := &snapshot.MFA{}
	totp := &snapshot.MFA{Enabled: []string{"SOFTWARE_TOKEN_MFA"}, Preferred: "SOFTWARE_TOKEN_MFA"}
	tests := []struct {
		pool types.UserPoolMfaType
		mfa  *snapshot.MFA
		want string
	}{
		{types.UserPoolMfaTypeOn, none, "true"},
		{types.UserPoolMfaTypeOn, totp, "true"},
		{types.UserPoolMfaTypeOff, totp, "false"},
		{types.UserPoolMfaTypeOff, none, "false"},
		{types.UserPoolMfaTypeOptional, none, "false"},
		{types.UserPoolMfaTypeOptional, empty, "false"},
		{types.UserPoolMfaTypeOptional, totp, "true"},
	}
	for _, tt := range tests {
		pool := classicPool()
		pool.MfaConfiguration = tt.pool
		tg := mustTarget(t, classicHeader, pool)
		u := classicUser("alice")
		u.MFA = tt.mfa
		if got := tg.Value(tg.Row(u), ColMFAEnabled); got != tt.want {
			t.Errorf("pool MFA %s, user MFA %+v: cognito:mfa_enabled = %q, want %q", tt.pool, tt.mfa, got, tt.want)
		}
	}
}

func TestRowValues(t *testing.T) {
	tokyo := mustTarget(t, tokyoHeader, tokyoPool())
	classic := mustTarget(t, classicHeader, classicPool())
	tests := []struct {
		name string
		t    *Target
		u    snapshot.User
		want map[string]string // the non-empty values
	}{{
		name: "email username pool: cognito:username is the email, not the UUID; sub is not written",
		t:    tokyo,
		u: tokyoUser("5f0c1d2e-0000-4000-8000-000000000001", "Taro@Example.jp",
			"birthdate", "1985-02-01", "updated_at", "1711962000", "address", "1-1 Chiyoda, Tokyo"),
		want: map[string]string{
			"cognito:username": "Taro@Example.jp", "cognito:mfa_enabled": "true",
			"email": "Taro@Example.jp", "email_verified": "true", "custom:tenant": "acme",
			"birthdate": "02/01/1985", "updated_at": "1711962000", "address": "1-1 Chiyoda, Tokyo",
		},
	}, {
		name: "email username pool without an email: no username to give",
		t:    tokyo,
		u:    tokyoUser("5f0c1d2e-0000-4000-8000-000000000002", ""),
		want: map[string]string{"cognito:mfa_enabled": "true", "email_verified": "true", "custom:tenant": "acme"},
	}, {
		name: "username pool keeps the username; RFC 3339 updated_at becomes epoch seconds; odd birthdate passed on",
		t:    classic,
		u:    classicUser("alice", "updated_at", "2024-04-01T09:00:00Z", "birthdate", "0000-13-01", "custom:seats", "12"),
		want: map[string]string{
			"cognito:username": "alice", "cognito:mfa_enabled": "false", "name": "Name alice",
			"email": "alice@example.com", "email_verified": "true",
			"updated_at": "1711962000", "birthdate": "0000-13-01", "custom:seats": "12",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.t.Row(tt.u)
			got := map[string]string{}
			for i, v := range r.Values {
				if v != "" {
					got[tt.t.Header[i]] = v
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Row (-want +got):\n%s", diff)
			}
			if r.Line != 0 {
				t.Errorf("Row.Line = %d, want 0", r.Line)
			}
		})
	}
}

func TestDropped(t *testing.T) {
	tg := mustTarget(t, tokyoHeader, tokyoPool())
	u := tokyoUser("5f0c1d2e-0000-4000-8000-000000000001", "a@example.jp",
		"custom:legacy_id", "42", "identities", "[]", "dev:custom:x", "y")
	want := []string{"custom:legacy_id", "dev:custom:x", "identities"}
	if diff := cmp.Diff(want, tg.Dropped(u)); diff != "" {
		t.Errorf("Dropped (-want +got):\n%s", diff)
	}
	s, err := ValidateUsers(tg, seqOf(u, u), NewWriter(tg, (&memParts{}).open), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"custom:legacy_id": 2, "dev:custom:x": 2, "identities": 2}, s.Dropped); diff != "" {
		t.Errorf("Summary.Dropped (-want +got):\n%s", diff)
	}
}

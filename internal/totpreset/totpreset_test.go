package totpreset_test

import (
	"context"
	"testing"

	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/totpreset"
)

func TestResetRetriesThrottlingAndNamesMissingUsers(t *testing.T) {
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{Quotas: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Two calls a second: the burst of six below is throttled and must be retried, not lost.
	st.Cognito.SetRate(localcognito.UserResourceUpdate, 2)
	c := st.Clients.TOTPReset(sc.Tokyo.Region)
	for i := range 6 {
		if err := c.AdminDeleteSoftwareToken(ctx, sc.TokyoID, devstack.Email(i)); err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
	}
	if st.Cognito.Stats().Throttled[localcognito.UserResourceUpdate] == 0 {
		t.Error("nothing was throttled: the test did not exercise the retries")
	}
	err = c.AdminDeleteSoftwareToken(ctx, sc.TokyoID, "nobody@example.jp")
	if !totpreset.IsUserNotFound(err) {
		t.Errorf("unknown user: %v, want UserNotFoundException", err)
	}
	err = c.AdminDeleteSoftwareToken(ctx, "ap-northeast-1_Nope12345", devstack.Email(0))
	if err == nil || totpreset.IsUserNotFound(err) {
		t.Errorf("unknown pool: %v, want ResourceNotFoundException", err)
	}
}

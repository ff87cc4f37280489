package cognito

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/time/rate"
)

// The quota tests run in synctest bubbles with in-process clients: the token buckets read the
// bubble's clock, which stands still while calls run, so how many calls pass is exact.

func TestQuotaBurstIsThrottled(t *testing.T) { synctest.Test(t, testQuotaBurstIsThrottled) }

func testQuotaBurstIsThrottled(t *testing.T) {
	ctx := context.Background()
	e := New(Options{Seed: 1}) // AWS defaults: UserList 30 RPS
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	c := newInProcessClient(e, testRegion)

	// 60 calls at one instant: the bucket holds 30 tokens, and none refill.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var throttled, other int
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &id})
			var tm *types.TooManyRequestsException
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.As(err, &tm):
				throttled++
				if msg := apiMessage(err); msg != "Too many requests" {
					t.Errorf("message %q", msg)
				}
			case err != nil:
				other++
				t.Errorf("ListUsers: %v", err)
			}
		}()
	}
	wg.Wait()
	if throttled != 30 {
		t.Errorf("%d of 60 calls at once throttled, want the 30 beyond the bucket", throttled)
	}
	if got := e.Stats().Throttled[UserList]; got != int64(throttled) {
		t.Errorf("Stats().Throttled[UserList] = %d, want %d", got, throttled)
	}
	if got := e.Stats().Calls["ListUsers"]; got != 60 {
		t.Errorf("Stats().Calls[ListUsers] = %d, want 60", got)
	}

	// Quotas off at runtime: the same burst passes.
	e.SetQuotas(false)
	for range 40 {
		if _, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &id}); err != nil {
			t.Fatalf("with quotas off: %v", err)
		}
	}
}

func TestQuotaPacedClientNeverThrottled(t *testing.T) {
	synctest.Test(t, testQuotaPacedClientNeverThrottled)
}

func testQuotaPacedClientNeverThrottled(t *testing.T) {
	ctx := context.Background()
	e := New(Options{Seed: 1})
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	c := newInProcessClient(e, testRegion)
	// Paced at exactly the quota (30 RPS) for 1.5 s of the bubble's clock, from a fresh bucket.
	lim := rate.NewLimiter(30, 1)
	for i := range 45 {
		if err := lim.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &id}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func TestQuotaPerPoolOperationLimit(t *testing.T) { synctest.Test(t, testQuotaPerPoolOperationLimit) }

func testQuotaPerPoolOperationLimit(t *testing.T) {
	ctx := context.Background()
	e := New(Options{Seed: 1})
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	c := newInProcessClient(e, testRegion)
	// GetCSVHeader is UserPoolResourceRead (20 RPS per account) but 5 RPS per operation per pool:
	// 8 calls at one instant of the bubble's clock, 5 tokens.
	var throttled int
	for range 8 {
		_, err := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &id})
		if apiCode(err) == "TooManyRequestsException" {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if throttled != 3 {
		t.Errorf("throttled %d of 8 GetCSVHeader calls, want the 3 beyond the pool's 5", throttled)
	}
}

func TestLatencyAndRateOverride(t *testing.T) { synctest.Test(t, testLatencyAndRateOverride) }

func testLatencyAndRateOverride(t *testing.T) {
	ctx := context.Background()
	e := New(Options{Seed: 1, Rates: map[Category]float64{UserPoolRead: 2}})
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	c := newInProcessClient(e, testRegion)
	e.SetLatency(30 * time.Millisecond)
	start := time.Now()
	if _, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d != 30*time.Millisecond {
		t.Errorf("call took %v, want the injected 30ms", d)
	}
	e.SetLatency(0)
	c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	_, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	if apiCode(err) != "TooManyRequestsException" {
		t.Errorf("third DescribeUserPool at 2 RPS: %v, want TooManyRequestsException", err)
	}
}

// TestQuotaCategoriesOfTheQuotasPage pins the category of every operation the DR workflows call,
// as https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations lists it.
func TestQuotaCategoriesOfTheQuotasPage(t *testing.T) {
	for op, want := range map[string]Category{
		"ListUsers": UserList, "ListUsersInGroup": UserList, "AdminGetUser": UserRead, "AdminCreateUser": UserCreation,
		"AdminUpdateUserAttributes": UserUpdate, "AdminDeleteUserAttributes": UserUpdate, "AdminDisableUser": UserUpdate,
		"AdminEnableUser": UserUpdate, "AdminDeleteUser": UserUpdate, "AdminUserGlobalSignOut": UserUpdate,
		"AdminAddUserToGroup": UserUpdate, "AdminRemoveUserFromGroup": UserUpdate,
		"AdminSetUserPassword": UserAccountRecovery, "AdminDeleteSoftwareToken": UserResourceUpdate,
		"AdminSetUserMFAPreference": UserResourceUpdate, "AssociateSoftwareToken": UserResourceUpdate,
		"VerifySoftwareToken": UserResourceUpdate, "ResendConfirmationCode": UserResourceRead,
		"ListGroups": UserPoolResourceRead, "GetCSVHeader": UserPoolResourceRead, "DescribeUserImportJob": UserPoolResourceRead,
		"ListUserImportJobs": UserPoolResourceRead, "GetUserPoolMfaConfig": UserPoolResourceRead,
		"CreateGroup": UserPoolResourceUpdate, "CreateUserImportJob": UserPoolResourceUpdate, "StartUserImportJob": UserPoolResourceUpdate,
		"SetUserPoolMfaConfig": UserPoolResourceUpdate, "DescribeUserPool": UserPoolRead, "UpdateUserPool": UserPoolUpdate,
		"DescribeUserPoolClient": UserPoolClientRead, "CreateUserPoolClient": UserPoolClientUpdate,
	} {
		if got := categoryOf(op, ""); got != want {
			t.Errorf("%s: %s, the quotas page says %s", op, got, want)
		}
	}
	// Footnote 1: a NEW_PASSWORD_REQUIRED answer is account recovery, other answers authentication.
	if got := categoryOf("RespondToAuthChallenge", "NEW_PASSWORD_REQUIRED"); got != UserAccountRecovery {
		t.Errorf("NEW_PASSWORD_REQUIRED response: %s, want UserAccountRecovery", got)
	}
	if got := categoryOf("AdminRespondToAuthChallenge", "SOFTWARE_TOKEN_MFA"); got != UserAuthentication {
		t.Errorf("SOFTWARE_TOKEN_MFA response: %s, want UserAuthentication", got)
	}
	for op := range handlers {
		if _, ok := operationCategory[op]; !ok {
			t.Errorf("%s is served but has no quota category", op)
		}
	}
}

// TestQuotaGroupAddsShareUserUpdate: adding users to groups spends the same bucket as disabling
// them (both UserUpdate), so a failback doing both is throttled together.
func TestQuotaGroupAddsShareUserUpdate(t *testing.T) {
	q := newQuotas(map[Category]float64{UserUpdate: 1}, true)
	if !q.allow(testRegion, categoryOf("AdminDisableUser", ""), "AdminDisableUser", "") {
		t.Fatal("first UserUpdate call refused")
	}
	if q.allow(testRegion, categoryOf("AdminAddUserToGroup", ""), "AdminAddUserToGroup", "") {
		t.Error("AdminAddUserToGroup passed on an empty UserUpdate bucket")
	}
}

// TestQuotaPerPoolLimitOfClientCategories: footnote 3 covers UserPoolClientRead too.
func TestQuotaPerPoolLimitOfClientCategories(t *testing.T) {
	q := newQuotas(nil, true)
	for i := range perPoolOperationRate {
		if !q.allow(testRegion, UserPoolClientRead, "DescribeUserPoolClient", "pool-a") {
			t.Fatalf("call %d within the per-pool limit refused", i+1)
		}
	}
	if q.allow(testRegion, UserPoolClientRead, "DescribeUserPoolClient", "pool-a") {
		t.Error("a sixth DescribeUserPoolClient on one pool passed the 5 RPS per-pool limit")
	}
	if !q.allow(testRegion, UserPoolClientRead, "DescribeUserPoolClient", "pool-b") {
		t.Error("another pool's call refused: the limit is per pool")
	}
}

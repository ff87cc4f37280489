package cognito

import (
	"sync"

	"golang.org/x/time/rate"
)

// Category is a Cognito user pools request-rate quota category. Quotas are per account per
// Region across all pools, so one emulator (one account) keeps one bucket per category per Region.
type Category string

// The quota categories of the operations the emulator serves, with their AWS default rates below.
const (
	UserAuthentication     Category = "UserAuthentication"
	UserCreation           Category = "UserCreation"
	UserAccountRecovery    Category = "UserAccountRecovery"
	UserRead               Category = "UserRead"
	UserUpdate             Category = "UserUpdate"
	UserResourceRead       Category = "UserResourceRead"
	UserResourceUpdate     Category = "UserResourceUpdate"
	UserList               Category = "UserList"
	UserPoolRead           Category = "UserPoolRead"
	UserPoolUpdate         Category = "UserPoolUpdate"
	UserPoolResourceRead   Category = "UserPoolResourceRead"
	UserPoolResourceUpdate Category = "UserPoolResourceUpdate"
	UserPoolClientRead     Category = "UserPoolClientRead"
	UserPoolClientUpdate   Category = "UserPoolClientUpdate"
)

// DefaultRates are AWS's default request-rate quotas (requests per second) per category: the table
// "Amazon Cognito user pools per-category request rate quotas" of
// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations.
// This table is the emulator's own, kept apart from the product's pacing table on purpose.
var DefaultRates = map[Category]float64{
	UserAuthentication:     120,
	UserCreation:           50,
	UserAccountRecovery:    30,
	UserRead:               120,
	UserUpdate:             25,
	UserResourceRead:       50,
	UserResourceUpdate:     25,
	UserList:               30,
	UserPoolRead:           15,
	UserPoolUpdate:         15,
	UserPoolResourceRead:   20,
	UserPoolResourceUpdate: 15,
	UserPoolClientRead:     15,
	UserPoolClientUpdate:   15,
}

// respondRateFactor: RespondToAuthChallenge and AdminRespondToAuthChallenge count in
// UserAuthentication but against their own bucket at three times its rate, so MFA and other
// challenges after a sign-in do not eat the sign-in quota (quotas page, "special request rate handling").
const respondRateFactor = 3

var respondOps = map[string]bool{"RespondToAuthChallenge": true, "AdminRespondToAuthChallenge": true}

// perPoolOperationRate is AWS's footnote 3 on the pool-resource and pool-client categories: any one
// operation in them cannot be called faster than 5 RPS for a single user pool, whatever the
// account quota.
const perPoolOperationRate = 5

// perPoolCategories are the categories footnote 3 marks.
var perPoolCategories = map[Category]bool{
	UserPoolResourceRead: true, UserPoolResourceUpdate: true, UserPoolClientRead: true, UserPoolClientUpdate: true,
}

// operationCategory maps each served operation to its quota category, every one as the quotas
// page lists it. A NEW_PASSWORD_REQUIRED challenge response is UserAccountRecovery instead of
// UserAuthentication (footnote 1; see categoryOf).
var operationCategory = map[string]Category{
	"CreateUserPool":              UserPoolUpdate,
	"DeleteUserPool":              UserPoolUpdate,
	"DescribeUserPool":            UserPoolRead,
	"ListUserPools":               UserPoolRead,
	"AdminCreateUser":             UserCreation,
	"AdminGetUser":                UserRead,
	"AdminUpdateUserAttributes":   UserUpdate,
	"AdminDeleteUserAttributes":   UserUpdate,
	"AdminDisableUser":            UserUpdate,
	"AdminEnableUser":             UserUpdate,
	"AdminDeleteUser":             UserUpdate,
	"AdminSetUserMFAPreference":   UserResourceUpdate,
	"AdminUserGlobalSignOut":      UserUpdate,
	"AdminSetUserPassword":        UserAccountRecovery,
	"ListUsers":                   UserList,
	"ListUsersInGroup":            UserList,
	"AdminListGroupsForUser":      UserResourceRead,
	"AdminAddUserToGroup":         UserUpdate,
	"AdminRemoveUserFromGroup":    UserUpdate,
	"CreateGroup":                 UserPoolResourceUpdate,
	"DeleteGroup":                 UserPoolResourceUpdate,
	"GetGroup":                    UserPoolResourceRead,
	"ListGroups":                  UserPoolResourceRead,
	"GetCSVHeader":                UserPoolResourceRead,
	"DescribeUserImportJob":       UserPoolResourceRead,
	"ListUserImportJobs":          UserPoolResourceRead,
	"CreateUserImportJob":         UserPoolResourceUpdate,
	"StartUserImportJob":          UserPoolResourceUpdate,
	"StopUserImportJob":           UserPoolResourceUpdate,
	"InitiateAuth":                UserAuthentication,
	"AdminInitiateAuth":           UserAuthentication,
	"RespondToAuthChallenge":      UserAuthentication,
	"AdminRespondToAuthChallenge": UserAuthentication,
	"SignUp":                      UserCreation,
	"ConfirmSignUp":               UserCreation,
	"AdminConfirmSignUp":          UserCreation,
	"ResendConfirmationCode":      UserResourceRead,
	"ForgotPassword":              UserAccountRecovery,
	"ConfirmForgotPassword":       UserAccountRecovery,
	"ChangePassword":              UserAccountRecovery,
	"GetUser":                     UserRead,
	"AssociateSoftwareToken":      UserResourceUpdate,
	"VerifySoftwareToken":         UserResourceUpdate,
	"GlobalSignOut":               UserUpdate,
	"AdminDeleteSoftwareToken":    UserResourceUpdate,
	"UpdateUserPool":              UserPoolUpdate,
	"SetUserPoolMfaConfig":        UserPoolResourceUpdate,
	"GetUserPoolMfaConfig":        UserPoolResourceRead,
	"CreateUserPoolClient":        UserPoolClientUpdate,
	"DeleteUserPoolClient":        UserPoolClientUpdate,
	"DescribeUserPoolClient":      UserPoolClientRead,
	"ListUserPoolClients":         UserPoolClientRead,
	"CreateIdentityProvider":      UserPoolResourceUpdate,
	"DeleteIdentityProvider":      UserPoolResourceUpdate,
	"DescribeIdentityProvider":    UserPoolResourceRead,
	"ListIdentityProviders":       UserPoolResourceRead,
	"CreateResourceServer":        UserPoolResourceUpdate,
	"DescribeResourceServer":      UserPoolResourceRead,
	"ListResourceServers":         UserPoolResourceRead,
	"CreateUserPoolDomain":        UserPoolResourceUpdate,
	"DeleteUserPoolDomain":        UserPoolResourceUpdate,
	"DescribeUserPoolDomain":      UserPoolResourceRead,
	"AddCustomAttributes":         UserPoolResourceUpdate,
	"UpdateGroup":                 UserPoolResourceUpdate,
}

// categoryOf is the category a call counts against: its operation's, except that a challenge
// response answering NEW_PASSWORD_REQUIRED counts as UserAccountRecovery (footnote 1).
func categoryOf(op, challenge string) Category {
	if respondOps[op] && challenge == "NEW_PASSWORD_REQUIRED" {
		return UserAccountRecovery
	}
	return operationCategory[op]
}

// quotas holds the token buckets. Burst equals the rate so that a client paced at exactly the
// quota never fails, and a burst above it fails at once, as on AWS.
type quotas struct {
	mu      sync.Mutex
	rates   map[Category]float64
	perPool bool
	account map[string]*rate.Limiter // region + "/" + category
	poolOps map[string]*rate.Limiter // pool id + "/" + operation
}

func newQuotas(overrides map[Category]float64, perPool bool) *quotas {
	q := &quotas{
		rates:   make(map[Category]float64, len(DefaultRates)),
		perPool: perPool,
		account: make(map[string]*rate.Limiter),
		poolOps: make(map[string]*rate.Limiter),
	}
	for c, r := range DefaultRates {
		q.rates[c] = r
	}
	for c, r := range overrides {
		q.rates[c] = r
	}
	return q
}

func limiterFor(rps float64) *rate.Limiter {
	burst := int(rps)
	if burst < 1 {
		burst = 1
	}
	return rate.NewLimiter(rate.Limit(rps), burst)
}

// allow takes one token from the account bucket of the category in region and, for the
// pool-resource categories, from the per-pool bucket of the operation. poolID may be empty.
func (q *quotas) allow(region string, c Category, op, poolID string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	rps, ok := q.rates[c]
	if !ok || rps <= 0 {
		return true
	}
	key := region + "/" + string(c)
	if respondOps[op] && c == UserAuthentication {
		key += "/respond"
		rps *= respondRateFactor
	}
	l := q.account[key]
	if l == nil {
		l = limiterFor(rps)
		q.account[key] = l
	}
	if perPoolCategories[c] && q.perPool && poolID != "" {
		pk := poolID + "/" + op
		pl := q.poolOps[pk]
		if pl == nil {
			pl = limiterFor(perPoolOperationRate)
			q.poolOps[pk] = pl
		}
		// Check both before spending either, so a refusal costs no account token.
		if pl.Tokens() < 1 {
			return false
		}
		if !l.Allow() {
			return false
		}
		return pl.Allow()
	}
	return l.Allow()
}

// setRate changes the rate of one category; buckets restart full.
func (q *quotas) setRate(c Category, rps float64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rates[c] = rps
	for k := range q.account {
		delete(q.account, k)
	}
}

// Package quota is AWS's table of Cognito user pools request-rate quotas — the categories, their
// default rates, and which operation counts against which — and the one way this project paces
// its calls to them. Quotas are per account per Region across all pools, so a process keeps one
// pacer per category per Region (Registry) and every workflow and command in it shares that.
//
// Source: https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations
// ("Amazon Cognito user pools per-category request rate quotas"). The local Cognito emulator keeps
// its own copy of this table on purpose (internal/local/cognito/quotas.go): it checks this one.
package quota

import (
	"fmt"
	"slices"
	"strings"
)

// Category is a user pools request-rate quota category, named as AWS names it.
type Category string

// The categories of the quotas page.
const (
	UserAuthentication     Category = "UserAuthentication"
	UserCreation           Category = "UserCreation"
	UserFederation         Category = "UserFederation"
	UserAccountRecovery    Category = "UserAccountRecovery"
	UserRead               Category = "UserRead"
	UserUpdate             Category = "UserUpdate"
	UserToken              Category = "UserToken"
	UserResourceRead       Category = "UserResourceRead"
	UserResourceUpdate     Category = "UserResourceUpdate"
	UserList               Category = "UserList"
	UserPoolRead           Category = "UserPoolRead"
	UserPoolUpdate         Category = "UserPoolUpdate"
	UserPoolResourceRead   Category = "UserPoolResourceRead"
	UserPoolResourceUpdate Category = "UserPoolResourceUpdate"
	UserPoolClientRead     Category = "UserPoolClientRead"
	UserPoolClientUpdate   Category = "UserPoolClientUpdate"
	ClientAuthentication   Category = "ClientAuthentication"
	LimitManagement        Category = "LimitManagement"
)

// Limit is one category's row of the quotas page.
type Limit struct {
	// RPS is the default quota in requests per second, per account per Region, all pools together.
	RPS float64
	// Adjustable categories can be raised (Service Quotas, then UpdateProvisionedLimit); the others
	// cannot, so a configured rate above RPS is refused.
	Adjustable bool
	// PerPoolOperationRPS is footnote 3 of the page: any one operation of the category is also
	// capped at this rate for a single user pool. 0 means no such cap.
	PerPoolOperationRPS float64
}

// perPoolCap is footnote 3: "Any individual operation in this category has a constraint that
// prevents the operation from being called at a rate higher than 5 RPS for a single user pool."
const perPoolCap = 5

// Limits are the rows of the quotas page. Every row is documented there.
var Limits = map[Category]Limit{
	UserAuthentication:     {RPS: 120, Adjustable: true},
	UserCreation:           {RPS: 50, Adjustable: true},
	UserFederation:         {RPS: 25, Adjustable: true},
	UserAccountRecovery:    {RPS: 30},
	UserRead:               {RPS: 120, Adjustable: true},
	UserUpdate:             {RPS: 25},
	UserToken:              {RPS: 120, Adjustable: true},
	UserResourceRead:       {RPS: 50, Adjustable: true},
	UserResourceUpdate:     {RPS: 25},
	UserList:               {RPS: 30},
	UserPoolRead:           {RPS: 15},
	UserPoolUpdate:         {RPS: 15},
	UserPoolResourceRead:   {RPS: 20, PerPoolOperationRPS: perPoolCap},
	UserPoolResourceUpdate: {RPS: 15, PerPoolOperationRPS: perPoolCap},
	UserPoolClientRead:     {RPS: 15, PerPoolOperationRPS: perPoolCap},
	UserPoolClientUpdate:   {RPS: 15, PerPoolOperationRPS: perPoolCap},
	ClientAuthentication:   {RPS: 150},
	LimitManagement:        {RPS: 1},
}

// Membership is the category an operation counts against.
type Membership struct {
	Category Category
	// Documented is true when the quotas page lists the operation in the category. An operation
	// the page does not list is assigned the lowest plausible category, and Note says why.
	Documented bool
	Note       string
}

func doc(c Category) Membership { return Membership{Category: c, Documented: true} }

// Operations maps every operation this project calls (and the neighbours an operator may ask
// about) to its category. All the operations the workflows and commands call are listed on the
// quotas page; the page puts some where a guess would not: AdminAddUserToGroup and
// AdminRemoveUserFromGroup are UserUpdate, AdminSetUserMFAPreference and AdminDeleteSoftwareToken
// UserResourceUpdate, AdminSetUserPassword UserAccountRecovery, GetCSVHeader and the import-job
// reads UserPoolResourceRead, the import-job writes UserPoolResourceUpdate.
var Operations = map[string]Membership{
	// UserAuthentication. A NEW_PASSWORD_REQUIRED challenge response counts as
	// UserAccountRecovery instead (footnote 1); pacing it as UserAuthentication would be too fast,
	// so the workflows never send one.
	"InitiateAuth":                doc(UserAuthentication),
	"AdminInitiateAuth":           doc(UserAuthentication),
	"RespondToAuthChallenge":      doc(UserAuthentication),
	"AdminRespondToAuthChallenge": doc(UserAuthentication),
	"GetTokensFromRefreshToken":   doc(UserAuthentication),
	// UserCreation.
	"SignUp":             doc(UserCreation),
	"ConfirmSignUp":      doc(UserCreation),
	"AdminCreateUser":    doc(UserCreation),
	"AdminConfirmSignUp": doc(UserCreation),
	// UserAccountRecovery.
	"ChangePassword":         doc(UserAccountRecovery),
	"ConfirmForgotPassword":  doc(UserAccountRecovery),
	"ForgotPassword":         doc(UserAccountRecovery),
	"AdminResetUserPassword": doc(UserAccountRecovery),
	"AdminSetUserPassword":   doc(UserAccountRecovery),
	// UserRead.
	"AdminGetUser":            doc(UserRead),
	"AdminGetUserAuthFactors": doc(UserRead),
	"GetUser":                 doc(UserRead),
	// UserUpdate.
	"AdminAddUserToGroup":         doc(UserUpdate),
	"AdminDeleteUserAttributes":   doc(UserUpdate),
	"AdminUpdateUserAttributes":   doc(UserUpdate),
	"AdminDeleteUser":             doc(UserUpdate),
	"AdminDisableUser":            doc(UserUpdate),
	"AdminEnableUser":             doc(UserUpdate),
	"AdminLinkProviderForUser":    doc(UserUpdate),
	"AdminDisableProviderForUser": doc(UserUpdate),
	"VerifyUserAttribute":         doc(UserUpdate),
	"DeleteUser":                  doc(UserUpdate),
	"DeleteUserAttributes":        doc(UserUpdate),
	"UpdateUserAttributes":        doc(UserUpdate),
	"AdminUserGlobalSignOut":      doc(UserUpdate),
	"GlobalSignOut":               doc(UserUpdate),
	"AdminRemoveUserFromGroup":    doc(UserUpdate),
	// UserToken.
	"RevokeToken": doc(UserToken),
	// UserResourceRead.
	"AdminGetDevice":                   doc(UserResourceRead),
	"AdminListGroupsForUser":           doc(UserResourceRead),
	"AdminListDevices":                 doc(UserResourceRead),
	"GetDevice":                        doc(UserResourceRead),
	"ListDevices":                      doc(UserResourceRead),
	"GetUserAttributeVerificationCode": doc(UserResourceRead),
	"ResendConfirmationCode":           doc(UserResourceRead),
	"AdminListUserAuthEvents":          doc(UserResourceRead),
	// UserResourceUpdate.
	"AdminForgetDevice":            doc(UserResourceUpdate),
	"AdminUpdateAuthEventFeedback": doc(UserResourceUpdate),
	"AdminSetUserMFAPreference":    doc(UserResourceUpdate),
	"AdminDeleteSoftwareToken":     doc(UserResourceUpdate),
	"AdminSetUserSettings":         doc(UserResourceUpdate),
	"AdminUpdateDeviceStatus":      doc(UserResourceUpdate),
	"UpdateDeviceStatus":           doc(UserResourceUpdate),
	"UpdateAuthEventFeedback":      doc(UserResourceUpdate),
	"ConfirmDevice":                doc(UserResourceUpdate),
	"SetUserMFAPreference":         doc(UserResourceUpdate),
	"SetUserSettings":              doc(UserResourceUpdate),
	"VerifySoftwareToken":          doc(UserResourceUpdate),
	"AssociateSoftwareToken":       doc(UserResourceUpdate),
	"ForgetDevice":                 doc(UserResourceUpdate),
	// UserList.
	"ListUsers":        doc(UserList),
	"ListUsersInGroup": doc(UserList),
	// UserPoolRead.
	"DescribeUserPool": doc(UserPoolRead),
	"ListUserPools":    doc(UserPoolRead),
	// UserPoolUpdate.
	"CreateUserPool": doc(UserPoolUpdate),
	"UpdateUserPool": doc(UserPoolUpdate),
	"DeleteUserPool": doc(UserPoolUpdate),
	// UserPoolResourceRead.
	"DescribeIdentityProvider":        doc(UserPoolResourceRead),
	"DescribeResourceServer":          doc(UserPoolResourceRead),
	"DescribeUserImportJob":           doc(UserPoolResourceRead),
	"DescribeUserPoolDomain":          doc(UserPoolResourceRead),
	"GetCSVHeader":                    doc(UserPoolResourceRead),
	"GetGroup":                        doc(UserPoolResourceRead),
	"GetSigningCertificate":           doc(UserPoolResourceRead),
	"GetIdentityProviderByIdentifier": doc(UserPoolResourceRead),
	"GetUserPoolMfaConfig":            doc(UserPoolResourceRead),
	"ListGroups":                      doc(UserPoolResourceRead),
	"ListIdentityProviders":           doc(UserPoolResourceRead),
	"ListResourceServers":             doc(UserPoolResourceRead),
	"ListTagsForResource":             doc(UserPoolResourceRead),
	"ListUserImportJobs":              doc(UserPoolResourceRead),
	"DescribeRiskConfiguration":       doc(UserPoolResourceRead),
	"GetUICustomization":              doc(UserPoolResourceRead),
	// UserPoolResourceUpdate.
	"AddCustomAttributes":    doc(UserPoolResourceUpdate),
	"CreateGroup":            doc(UserPoolResourceUpdate),
	"CreateIdentityProvider": doc(UserPoolResourceUpdate),
	"CreateResourceServer":   doc(UserPoolResourceUpdate),
	"CreateUserImportJob":    doc(UserPoolResourceUpdate),
	"CreateUserPoolDomain":   doc(UserPoolResourceUpdate),
	"DeleteGroup":            doc(UserPoolResourceUpdate),
	"DeleteIdentityProvider": doc(UserPoolResourceUpdate),
	"DeleteResourceServer":   doc(UserPoolResourceUpdate),
	"DeleteUserPoolDomain":   doc(UserPoolResourceUpdate),
	"SetUserPoolMfaConfig":   doc(UserPoolResourceUpdate),
	"StartUserImportJob":     doc(UserPoolResourceUpdate),
	"StopUserImportJob":      doc(UserPoolResourceUpdate),
	"UpdateGroup":            doc(UserPoolResourceUpdate),
	"UpdateIdentityProvider": doc(UserPoolResourceUpdate),
	"UpdateResourceServer":   doc(UserPoolResourceUpdate),
	"UpdateUserPoolDomain":   doc(UserPoolResourceUpdate),
	"SetRiskConfiguration":   doc(UserPoolResourceUpdate),
	"SetUICustomization":     doc(UserPoolResourceUpdate),
	"TagResource":            doc(UserPoolResourceUpdate),
	"UntagResource":          doc(UserPoolResourceUpdate),
	// UserPoolClientRead / UserPoolClientUpdate.
	"DescribeUserPoolClient": doc(UserPoolClientRead),
	"ListUserPoolClients":    doc(UserPoolClientRead),
	"CreateUserPoolClient":   doc(UserPoolClientUpdate),
	"DeleteUserPoolClient":   doc(UserPoolClientUpdate),
	"UpdateUserPoolClient":   doc(UserPoolClientUpdate),
	// ClientAuthentication, LimitManagement.
	"GetClientToken":         doc(ClientAuthentication),
	"GetProvisionedLimit":    doc(LimitManagement),
	"UpdateProvisionedLimit": doc(LimitManagement),
}

// CategoryOf returns the category of op, or an error naming it when the table does not have it:
// an operation nobody classified must not run unpaced.
func CategoryOf(op string) (Category, error) {
	m, ok := Operations[op]
	if !ok {
		return "", fmt.Errorf("quota: operation %q is not in the quota table; add it with its category from the quotas page", op)
	}
	return m.Category, nil
}

// EnvName is the environment variable that overrides a category's rate: USER_LIST_RPS for
// UserList, USER_POOL_RESOURCE_READ_RPS for UserPoolResourceRead.
func EnvName(c Category) string {
	var b strings.Builder
	for i, r := range string(c) {
		if i > 0 && 'A' <= r && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String()) + "_RPS"
}

// Categories returns the categories of the table in name order.
func Categories() []Category {
	out := make([]Category, 0, len(Limits))
	for c := range Limits {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// EnvNames are the environment variables of every category's override (EnvName), in the order of
// Categories: what a task that paces Cognito calls declares it reads.
func EnvNames() []string {
	var names []string
	for _, c := range Categories() {
		names = append(names, EnvName(c))
	}
	return names
}

package cognito

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

const (
	targetPrefix = "AWSCognitoIdentityProviderService."
	contentType  = "application/x-amz-json-1.1"
	maxBody      = 1 << 20
)

// handler serves one operation: body is the request JSON, region the one the request was signed for.
type handler func(e *Emulator, region string, body []byte) (any, error)

var handlers = map[string]handler{
	"CreateUserPool":            (*Emulator).createUserPool,
	"DescribeUserPool":          (*Emulator).describeUserPool,
	"ListUserPools":             (*Emulator).listUserPools,
	"DeleteUserPool":            (*Emulator).deleteUserPool,
	"AdminCreateUser":           (*Emulator).adminCreateUser,
	"AdminGetUser":              (*Emulator).adminGetUser,
	"AdminUpdateUserAttributes": (*Emulator).adminUpdateUserAttributes,
	"AdminDeleteUserAttributes": (*Emulator).adminDeleteUserAttributes,
	"AdminDisableUser":          (*Emulator).adminDisableUser,
	"AdminEnableUser":           (*Emulator).adminEnableUser,
	"AdminDeleteUser":           (*Emulator).adminDeleteUser,
	"AdminSetUserPassword":      (*Emulator).adminSetUserPassword,
	"AdminSetUserMFAPreference": (*Emulator).adminSetUserMFAPreference,
	"AdminUserGlobalSignOut":    (*Emulator).adminUserGlobalSignOut,
	"ListUsers":                 (*Emulator).listUsers,
	"CreateGroup":               (*Emulator).createGroup,
	"GetGroup":                  (*Emulator).getGroup,
	"ListGroups":                (*Emulator).listGroups,
	"DeleteGroup":               (*Emulator).deleteGroup,
	"ListUsersInGroup":          (*Emulator).listUsersInGroup,
	"AdminAddUserToGroup":       (*Emulator).adminAddUserToGroup,
	"AdminRemoveUserFromGroup":  (*Emulator).adminRemoveUserFromGroup,
	"AdminListGroupsForUser":    (*Emulator).adminListGroupsForUser,
	"GetCSVHeader":              (*Emulator).getCSVHeader,
	"CreateUserImportJob":       (*Emulator).createUserImportJob,
	"DescribeUserImportJob":     (*Emulator).describeUserImportJob,
	"ListUserImportJobs":        (*Emulator).listUserImportJobs,
	"StartUserImportJob":        (*Emulator).startUserImportJob,
	"StopUserImportJob":         (*Emulator).stopUserImportJob,
	// App clients, pool settings and sign-in.
	"CreateUserPoolClient":        (*Emulator).createUserPoolClient,
	"DescribeUserPoolClient":      (*Emulator).describeUserPoolClient,
	"ListUserPoolClients":         (*Emulator).listUserPoolClients,
	"DeleteUserPoolClient":        (*Emulator).deleteUserPoolClient,
	"UpdateUserPool":              (*Emulator).updateUserPool,
	"SetUserPoolMfaConfig":        (*Emulator).setUserPoolMfaConfig,
	"GetUserPoolMfaConfig":        (*Emulator).getUserPoolMfaConfig,
	"SignUp":                      (*Emulator).signUp,
	"ConfirmSignUp":               (*Emulator).confirmSignUp,
	"AdminConfirmSignUp":          (*Emulator).adminConfirmSignUp,
	"ResendConfirmationCode":      (*Emulator).resendConfirmationCode,
	"ForgotPassword":              (*Emulator).forgotPassword,
	"ConfirmForgotPassword":       (*Emulator).confirmForgotPassword,
	"ChangePassword":              (*Emulator).changePassword,
	"InitiateAuth":                (*Emulator).initiateAuth,
	"AdminInitiateAuth":           (*Emulator).adminInitiateAuth,
	"RespondToAuthChallenge":      (*Emulator).respondToAuthChallenge,
	"AdminRespondToAuthChallenge": (*Emulator).adminRespondToAuthChallenge,
	"AssociateSoftwareToken":      (*Emulator).associateSoftwareToken,
	"VerifySoftwareToken":         (*Emulator).verifySoftwareToken,
	"GetUser":                     (*Emulator).getUser,
	"GlobalSignOut":               (*Emulator).globalSignOut,
	"AdminDeleteSoftwareToken":    (*Emulator).adminDeleteSoftwareToken,
	// Identity providers, resource servers, the domain, custom attributes (poolresources.go).
	"CreateIdentityProvider":   (*Emulator).createIdentityProvider,
	"DescribeIdentityProvider": (*Emulator).describeIdentityProvider,
	"ListIdentityProviders":    (*Emulator).listIdentityProviders,
	"DeleteIdentityProvider":   (*Emulator).deleteIdentityProvider,
	"CreateResourceServer":     (*Emulator).createResourceServer,
	"DescribeResourceServer":   (*Emulator).describeResourceServer,
	"ListResourceServers":      (*Emulator).listResourceServers,
	"CreateUserPoolDomain":     (*Emulator).createUserPoolDomain,
	"DescribeUserPoolDomain":   (*Emulator).describeUserPoolDomain,
	"DeleteUserPoolDomain":     (*Emulator).deleteUserPoolDomain,
	"AddCustomAttributes":      (*Emulator).addCustomAttributes,
	"UpdateGroup":              (*Emulator).updateGroup,
}

// publicOps are the operations Cognito serves without SigV4 (the SDK sends them unsigned):
// their Region comes from the app client, access token or session they name.
var publicOps = map[string]bool{
	"SignUp": true, "ConfirmSignUp": true, "ResendConfirmationCode": true, "ForgotPassword": true,
	"ConfirmForgotPassword": true, "ChangePassword": true, "InitiateAuth": true, "RespondToAuthChallenge": true,
	"AssociateSoftwareToken": true, "VerifySoftwareToken": true, "GetUser": true, "GlobalSignOut": true,
}

// ServeHTTP answers one cognito-idp request. The caller mounts the emulator where the SDK's
// BaseEndpoint points; every request there is taken as a Cognito call.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.refuseInOutage(w, r) {
		return
	}
	out, err := e.serve(r)
	if err != nil {
		writeError(w, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, errInternal())
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("x-amzn-RequestId", e.randomAlnum(8)+"-local")
	_, _ = w.Write(b)
}

func (e *Emulator) serve(r *http.Request) (any, error) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	h := handlers[op]
	if r.Method != http.MethodPost || !ok || h == nil {
		return nil, newError("UnknownOperationException", "")
	}
	incr(&e.stats.calls, op)
	region, signed := signedRegion(r.Header.Get("Authorization"))
	if !signed && !publicOps[op] {
		return nil, newError("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, newError("SerializationException", "could not read request body")
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if !signed {
		region = e.publicRegion(body)
	}
	if e.quotasOn.Load() {
		var in struct{ UserPoolId, ChallengeName string }
		if respondOps[op] || perPoolCategories[operationCategory[op]] {
			_ = json.Unmarshal(body, &in)
		}
		c := categoryOf(op, in.ChallengeName)
		poolID := in.UserPoolId
		if !e.quotas.allow(region, c, op, poolID) {
			incr(&e.stats.throttled, c)
			return nil, errTooManyRequests()
		}
	}
	if c := operationCategory[op]; e.shouldThrottle(c) {
		incr(&e.stats.throttled, c)
		return nil, errTooManyRequests()
	}
	if d := time.Duration(e.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return nil, errInternal()
		}
	}
	if e.shouldFail(op) {
		incr(&e.stats.failed, op)
		return nil, errInternal()
	}
	out, err := h(e, region, body)
	if err == nil && e.loseResponse(op) {
		incr(&e.stats.failed, op)
		return nil, errInternal()
	}
	return out, err
}

// signedRegion reads the Region from the SigV4 credential scope
// (Credential=AKID/20261127/<region>/cognito-idp/aws4_request). The signature itself is not checked.
func signedRegion(auth string) (string, bool) {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", false
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[2] == "" {
		return "", false
	}
	return parts[2], true
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errInternal()
	}
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{ae.Code, ae.Message})
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("x-amzn-ErrorType", ae.Code)
	w.WriteHeader(ae.Status)
	_, _ = w.Write(b)
}

// decode reads a request body into in. AWS ignores members it does not know, and so does this.
func decode(body []byte, in any) error {
	if err := json.Unmarshal(body, in); err != nil {
		return newError("SerializationException", "Start of structure or map found where not expected.")
	}
	return nil
}

// epoch renders a date the way AWS JSON 1.1 does: seconds since the epoch as a number.
func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

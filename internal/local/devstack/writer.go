package devstack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
)

// Writer is the DR pool's users while a failback runs: at every tick one of them signs up
// (SignUp, then ConfirmSignUp with the emailed code) or an existing user changes the profile (a
// sign-in with the password, then the app's AdminUpdateUserAttributes for the signed-in user,
// as an app backend does). A write is accepted when the pool's gate let it through and refused
// when the gate answered with Message; once a kind of write was refused, accepting a later one
// of that kind is a violation: the fence let a write through.
type Writer struct {
	Stack    *Stack
	Pool     GatePool
	ClientID string
	// Message is what the fenced pool's gate tells users.
	Message string
	// Users sign in with these passwords (email → password) to change their given_name.
	Users map[string]string
	// Interval between writes; zero means 50 ms.
	Interval time.Duration
	// Prefix names the users who sign up: <Prefix><n>@example.jp.
	Prefix string

	mu  sync.Mutex
	res WriterResult
}

// AfterStop bounds how long a Writer goes on after it is told to stop, waiting to see both kinds
// of write refused: longer than any gate's cache.
const AfterStop = 30 * time.Second

// WriterResult is what a Writer saw.
type WriterResult struct {
	// SignUps are the users whose sign-up the pool accepted; Given the last given_name each
	// user's accepted profile change set.
	SignUps []string
	Given   map[string]string
	// Accepted and Refused count writes; FirstSignInRefused is when a sign-in was first refused.
	Accepted, Refused  int
	FirstSignInRefused time.Time
	// Violations are writes accepted after one of their kind was refused; Errors are answers
	// that were neither.
	Violations, Errors []string

	signUpRefused bool
}

// Run writes until stop is closed and both kinds of write have been refused, or for at most
// AfterStop more once stop is closed (a fence that never bites), or until ctx ends.
func (w *Writer) Run(ctx context.Context, stop <-chan struct{}) WriterResult {
	interval := w.Interval
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	users := make([]string, 0, len(w.Users))
	for u := range w.Users {
		users = append(users, u)
	}
	c := w.Stack.Clients.Cognito(w.Pool.Region)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var giveUp <-chan time.Time
	for i := 0; ; i++ {
		select {
		case <-stop:
			stop, giveUp = nil, time.After(AfterStop)
		case <-giveUp:
			return w.Result()
		case <-ctx.Done():
			return w.Result()
		case <-tick.C:
		}
		if stop == nil && w.done(len(users) > 0) {
			return w.Result()
		}
		if i%2 == 0 || len(users) == 0 {
			w.signUp(ctx, c, fmt.Sprintf("%s%06d@example.jp", w.Prefix, i))
			continue
		}
		w.update(ctx, c, users[(i/2)%len(users)], fmt.Sprintf("given %d", i))
	}
}

// Result is what the writer saw so far.
func (w *Writer) Result() WriterResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.res
	r.SignUps = append([]string(nil), r.SignUps...)
	r.Given = map[string]string{}
	for k, v := range w.res.Given {
		r.Given[k] = v
	}
	return r
}

func (w *Writer) done(updates bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.res.signUpRefused && (!updates || !w.res.FirstSignInRefused.IsZero())
}

// refused reports whether err is the fenced gate's answer, counting it; anything else is an error.
func (w *Writer) refused(err error, what string) bool {
	var api smithy.APIError
	w.mu.Lock()
	defer w.mu.Unlock()
	if errors.As(err, &api) && api.ErrorCode() == "UserLambdaValidationException" && strings.Contains(api.ErrorMessage(), w.Message) {
		w.res.Refused++
		return true
	}
	w.res.Errors = append(w.res.Errors, fmt.Sprintf("%s: %v", what, err))
	return false
}

func (w *Writer) signUp(ctx context.Context, c *cip.Client, email string) {
	_, err := c.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(w.ClientID), Username: aws.String(email), Password: aws.String("Writer-Passw0rd!"),
		UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Writer")}}})
	if err != nil {
		if w.refused(err, "sign-up") {
			w.mu.Lock()
			w.res.signUpRefused = true
			w.mu.Unlock()
		}
		return
	}
	code, ok := w.Stack.Cognito.LastCode(w.Pool.ID, email, localcognito.KindSignUp)
	if ok {
		_, err = c.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(w.ClientID), Username: aws.String(email), ConfirmationCode: aws.String(code)})
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.Accepted++
	w.res.SignUps = append(w.res.SignUps, email)
	if w.res.signUpRefused {
		w.res.Violations = append(w.res.Violations, "sign-up of "+email+" accepted after one was refused")
	}
	switch {
	case !ok:
		w.res.Errors = append(w.res.Errors, "no sign-up code for "+email)
	case err != nil:
		w.res.Errors = append(w.res.Errors, fmt.Sprintf("confirm sign-up of %s: %v", email, err))
	}
}

func (w *Writer) update(ctx context.Context, c *cip.Client, email, given string) {
	_, err := c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String(w.ClientID), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": w.Users[email]}})
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "NotAuthorizedException":
		// Disabled by the failback after its gate passed: told, nothing written.
		return
	case err != nil:
		if w.refused(err, "sign-in of "+email) {
			w.mu.Lock()
			if w.res.FirstSignInRefused.IsZero() {
				w.res.FirstSignInRefused = time.Now()
			}
			w.mu.Unlock()
		}
		return
	}
	// The sign-in passed the gate (its MFA step is the app's business): the app changes the profile.
	_, err = c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(w.Pool.ID), Username: aws.String(email),
		UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String(given)}}})
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.res.Errors = append(w.res.Errors, fmt.Sprintf("profile change of %s: %v", email, err))
		return
	}
	if w.res.Given == nil {
		w.res.Given = map[string]string{}
	}
	w.res.Accepted++
	w.res.Given[email] = given
	if !w.res.FirstSignInRefused.IsZero() {
		w.res.Violations = append(w.res.Violations, "sign-in of "+email+" accepted after one was refused")
	}
}

// Lost lists the writes the DR pool accepted that the primary does not have: a user who signed
// up and is not there, or a profile change whose value is not the primary's.
func (r WriterResult) Lost(ctx context.Context, st *Stack, primary GatePool) ([]string, error) {
	c := st.Clients.Cognito(primary.Region)
	var lost []string
	get := func(email string) (*cip.AdminGetUserOutput, error) {
		u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(primary.ID), Username: aws.String(email)})
		var nf *types.UserNotFoundException
		if errors.As(err, &nf) {
			return nil, nil
		}
		return u, err
	}
	for _, email := range r.SignUps {
		u, err := get(email)
		if err != nil {
			return nil, err
		}
		if u == nil {
			lost = append(lost, "sign-up of "+email)
		}
	}
	for email, given := range r.Given {
		u, err := get(email)
		if err != nil {
			return nil, err
		}
		got := ""
		if u != nil {
			for _, a := range u.UserAttributes {
				if aws.ToString(a.Name) == "given_name" {
					got = aws.ToString(a.Value)
				}
			}
		}
		if got != given {
			lost = append(lost, fmt.Sprintf("profile change of %s to %q (primary has %q)", email, given, got))
		}
	}
	return lost, nil
}

package replication_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// The replicate trigger reports `created` for a user it created even when the answer to its
// AdminCreateUser was lost and the SDK's retry was told the user exists; a DR copy made before the
// trigger ran is `updated`.
func TestReplicateCreateWhoseAnswerWasLost(t *testing.T) {
	f := newStack(t)
	ctx := context.Background()
	replicate := func(email, sub string) replication.Outcome {
		var ev events.CognitoEventUserPoolsPostConfirmation
		if err := json.Unmarshal(f.sc.PostConfirmationEvent(email, sub), &ev); err != nil {
			t.Fatal(err)
		}
		return f.repl.Steps.ReplicateUser(ctx, ev)
	}

	f.stack.Cognito.LoseResponses("AdminCreateUser", 1)
	o := replicate("lost.answer@example.jp", "0b6f2a3c-1d4e-4f5a-8b6c-7d8e9f0a1b2c")
	if o.Result != replication.ResultCreated || o.Err != nil {
		t.Errorf("result %q (%v), want %q", o.Result, o.Err, replication.ResultCreated)
	}
	if got := f.stack.Cognito.Stats().Failed["AdminCreateUser"]; got != 1 {
		t.Fatalf("%d answers lost, want 1: the test did not exercise the retry", got)
	}
	u := f.get(f.osaka(), f.sc.OsakaID, "lost.answer@example.jp")
	if u.UserStatus != types.UserStatusTypeConfirmed {
		t.Errorf("DR copy is %s, want CONFIRMED (its unusable password set) so ForgotPassword works", u.UserStatus)
	}

	// A copy made an hour before the trigger runs (as by reconcile): seen from the trigger's clock.
	if _, err := f.osaka().AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String("early.copy@example.jp"),
		MessageAction: types.MessageActionTypeSuppress, UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String("early.copy@example.jp")}, {Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	f.repl.Steps.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if o := replicate("early.copy@example.jp", "1c7a3b4d-2e5f-4a6b-9c7d-8e9fa0b1c2d3"); o.Result != replication.ResultUpdated {
		t.Errorf("existing copy: result %q (%v), want %q", o.Result, o.Err, replication.ResultUpdated)
	}
}

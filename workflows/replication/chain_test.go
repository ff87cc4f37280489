package replication_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	locallambda "github.com/cognito-dr/cognito-dr/internal/local/lambda"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// A primary pool that already had a PostConfirmation function keeps it: the replicate trigger
// copies the user and answers with that function's answer, or its error, unchanged.
func TestReplicateTriggerChainsThePoolsOwnFunction(t *testing.T) {
	f := newStack(t)
	theirs := "arn:aws:lambda:" + f.sc.Tokyo.Region + ":" + localaws.DefaultAccountID + ":function:their-post-confirmation"
	fns := locallambda.New(localaws.DefaultAccountID)
	var mu sync.Mutex
	var got []json.RawMessage
	fns.Register(theirs, func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		var m map[string]any
		json.Unmarshal(ev, &m)
		if m["userName"] == "refused" {
			return nil, errors.New("welcome email could not be queued")
		}
		m["response"] = map[string]any{"theirs": true}
		return json.Marshal(m)
	})
	f.stack.AWS.ServeLambda(fns)
	env := f.triggerEnv()
	getenv := func(k string) string {
		if k == "CHAIN_FUNCTION_ARN" {
			return theirs
		}
		return env(k)
	}
	clients := func(context.Context) (*awsclients.Clients, error) { return f.stack.Clients, nil }
	var logs bytes.Buffer
	h := replication.PostConfirmationTrigger.Start(getenv, clients, slog.New(slog.NewJSONHandler(&logs, nil)))

	ev, _ := f.confirmedEvent("chained@example.jp")
	out, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	if json.Unmarshal(out, &answer); answer["response"] == nil || answer["response"].(map[string]any)["theirs"] != true {
		t.Errorf("answer %s, want their function's", out)
	}
	mu.Lock()
	if len(got) != 1 || string(got[0]) != string(ev) {
		t.Errorf("their function got %s, want the event as Cognito sent it", got)
	}
	mu.Unlock()
	if _, err := f.osaka().AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String("chained@example.jp")}); err != nil {
		t.Errorf("the user was not copied to Osaka: %v", err)
	}

	ev, _ = f.confirmedEvent("refused@example.jp")
	var m map[string]any
	json.Unmarshal(ev, &m)
	m["userName"] = "refused"
	ev, _ = json.Marshal(m)
	if _, err := h(context.Background(), ev); err == nil || err.Error() != "welcome email could not be queued" {
		t.Errorf("their function's error came back as %v, want it unchanged", err)
	}
	if _, err := f.osaka().AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String("refused@example.jp")}); err != nil {
		t.Errorf("a user whose other PostConfirmation function failed is confirmed all the same and must be copied: %v", err)
	}
}

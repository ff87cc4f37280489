package replication_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// modeStore is one parameter's value in a Region's Parameter Store.
type modeStore struct {
	value string
	reads int
}

func (m *modeStore) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	m.reads++
	if m.value == "" {
		return nil, &ssmtypes.ParameterNotFound{}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(m.value)}}, nil
}

func (m *modeStore) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	m.value = aws.ToString(in.Value)
	return &ssm.PutParameterOutput{}, nil
}

// invoker is a chained function: fn answers the event, or fails the invocation.
type invoker struct {
	fn     func(json.RawMessage) (*lambda.InvokeOutput, error)
	events []json.RawMessage
}

func (i *invoker) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	i.events = append(i.events, in.Payload)
	return i.fn(in.Payload)
}

const movedMessage = "Sign in at https://osaka.example.com: this Region is closed"

func gatekeeper(t *testing.T, mode poolmode.Mode) *replication.Gatekeeper {
	t.Helper()
	p := poolmode.Parameter{Client: &modeStore{}, Name: "/cognito-dr/mode"}
	if err := p.Set(t.Context(), poolmode.State{Mode: mode, Since: time.Now(), Cause: poolmode.CauseFailover, Message: movedMessage}); err != nil {
		t.Fatal(err)
	}
	return &replication.Gatekeeper{Gate: &poolmode.Gate{Own: p}}
}

func gateEvent(source string) json.RawMessage {
	return json.RawMessage(`{"version":"1","triggerSource":"` + source + `","region":"ap-northeast-1","userPoolId":"` + tokyoPool + `","userName":"u1",` +
		`"callerContext":{"awsSdkVersion":"x","clientId":"c"},"request":{"userAttributes":{"sub":"s1","email":"a@example.jp"}},"response":{}}`)
}

func discard() *slog.Logger { return slog.New(slog.NewJSONHandler(new(bytes.Buffer), nil)) }

func TestFencedPoolRefusesUsersWithItsMessage(t *testing.T) {
	for _, c := range []struct{ task, source string }{
		{"pre-sign-up", "PreSignUp_SignUp"},
		{"pre-sign-up", "PreSignUp_ExternalProvider"},
		{"pre-authentication", "PreAuthentication_Authentication"},
		{"pre-token", "TokenGeneration_Authentication"},
		{"pre-token", "TokenGeneration_RefreshTokens"},
	} {
		t.Run(c.source, func(t *testing.T) {
			chained := &invoker{fn: func(ev json.RawMessage) (*lambda.InvokeOutput, error) { return &lambda.InvokeOutput{Payload: ev}, nil }}
			g := gatekeeper(t, poolmode.Fenced)
			g.Chain = &replication.Chain{Client: chained, FunctionARN: "arn:aws:lambda:ap-northeast-1:000000000000:function:theirs"}
			var logs bytes.Buffer
			_, err := replication.GateTrigger(c.task, g, nil, slog.New(slog.NewJSONHandler(&logs, nil)))(t.Context(), gateEvent(c.source))
			if err == nil || err.Error() != movedMessage {
				t.Fatalf("fenced pool answered %v, want the refusal %q", err, movedMessage)
			}
			if len(chained.events) != 0 {
				t.Error("a refused event reached the chained function")
			}
			if bytes.Contains(logs.Bytes(), []byte("a@example.jp")) {
				t.Errorf("log names the user: %s", logs.String())
			}
		})
	}
}

func TestFencedPoolTakesAdminCreatedUsers(t *testing.T) {
	// Replication and reconcile fill a fenced DR pool with AdminCreateUser.
	ev := gateEvent("PreSignUp_AdminCreateUser")
	g := gatekeeper(t, poolmode.Fenced)
	out, err := replication.GateTrigger("pre-sign-up", g, nil, discard())(t.Context(), ev)
	if err != nil || string(out) != string(ev) {
		t.Fatalf("AdminCreateUser into a fenced pool: %s, %v; want the event unchanged", out, err)
	}
	// Whatever the mode, the event passes: reading it would only spend the replicate trigger's
	// time budget on Parameter Store.
	if reads := g.Gate.Own.Client.(*modeStore).reads; reads != 0 {
		t.Errorf("the gate read the mode %d times for an administrator's sign-up, want 0", reads)
	}
}

func TestActivePoolChainsAndPassesTheAnswerUnchanged(t *testing.T) {
	answer := `{"version":"1","triggerSource":"PreSignUp_SignUp","response":{"autoConfirmUser":true,"autoVerifyEmail":true,"autoVerifyPhone":false},"theirs":[1,2]}`
	chained := &invoker{fn: func(json.RawMessage) (*lambda.InvokeOutput, error) {
		return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(answer)}, nil
	}}
	g := gatekeeper(t, poolmode.Active)
	g.Chain = &replication.Chain{Client: chained, FunctionARN: "arn:aws:lambda:ap-northeast-1:000000000000:function:theirs"}
	ev := gateEvent("PreSignUp_SignUp")
	out, err := replication.GateTrigger("pre-sign-up", g, nil, discard())(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != answer {
		t.Errorf("answer = %s, want the chained function's %s", out, answer)
	}
	if len(chained.events) != 1 || string(chained.events[0]) != string(ev) {
		t.Errorf("chained function got %s, want the event as Cognito sent it", chained.events)
	}
}

func TestChainedErrorsPassThroughUnchanged(t *testing.T) {
	const theirs = "Registration from this domain is not allowed."
	for _, c := range []struct {
		name    string
		fn      func(json.RawMessage) (*lambda.InvokeOutput, error)
		wantMsg string
	}{
		{"function error", func(json.RawMessage) (*lambda.InvokeOutput, error) {
			return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), Payload: []byte(`{"errorMessage":"` + theirs + `","errorType":"Error"}`)}, nil
		}, theirs},
		{"function error without a JSON payload", func(json.RawMessage) (*lambda.InvokeOutput, error) {
			return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), Payload: []byte(`Task timed out after 3.00 seconds`)}, nil
		}, "Task timed out after 3.00 seconds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := gatekeeper(t, poolmode.Active)
			g.Chain = &replication.Chain{Client: &invoker{fn: c.fn}, FunctionARN: "arn:aws:lambda:ap-northeast-1:000000000000:function:theirs"}
			_, err := replication.GateTrigger("pre-sign-up", g, nil, discard())(t.Context(), gateEvent("PreSignUp_SignUp"))
			if err == nil || err.Error() != c.wantMsg {
				t.Fatalf("error = %v, want the chained function's %q", err, c.wantMsg)
			}
		})
	}
	t.Run("cannot invoke", func(t *testing.T) {
		g := gatekeeper(t, poolmode.Active)
		g.Chain = &replication.Chain{Client: &invoker{fn: func(json.RawMessage) (*lambda.InvokeOutput, error) {
			return nil, errors.New("AccessDeniedException: not authorized to perform lambda:InvokeFunction")
		}}, FunctionARN: "arn:aws:lambda:ap-northeast-1:000000000000:function:theirs"}
		if _, err := replication.GateTrigger("pre-sign-up", g, nil, discard())(t.Context(), gateEvent("PreSignUp_SignUp")); err == nil {
			t.Fatal("a chained function that cannot be invoked was skipped: the pool's own checks would be bypassed")
		}
	})
}

func TestPreTokenGateChainsThenAddsPrimarySub(t *testing.T) {
	chained := &invoker{fn: func(ev json.RawMessage) (*lambda.InvokeOutput, error) {
		var m map[string]any
		json.Unmarshal(ev, &m)
		m["response"] = map[string]any{"claimsOverrideDetails": map[string]any{"claimsToAddOrOverride": map[string]any{"tenant": "acme"}}}
		b, _ := json.Marshal(m)
		return &lambda.InvokeOutput{Payload: b}, nil
	}}
	g := gatekeeper(t, poolmode.Active)
	g.Chain = &replication.Chain{Client: chained, FunctionARN: "arn:aws:lambda:ap-northeast-3:000000000000:function:theirs"}
	ev := `{"version":"1","triggerSource":"TokenGeneration_RefreshTokens","userPoolId":"` + osakaPool + `","request":{"userAttributes":{"sub":"s","custom:primary_sub":"` + tokyoSub + `"}},"response":{}}`
	out, err := replication.GateTrigger("pre-token", g, replication.AddPrimarySub, discard())(t.Context(), json.RawMessage(ev))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Response map[string]any `json:"response"`
	}
	json.Unmarshal(out, &got)
	want := map[string]any{"claimsOverrideDetails": map[string]any{"claimsToAddOrOverride": map[string]any{"tenant": "acme", "primary_sub": tokyoSub}}}
	if diff := cmp.Diff(want, got.Response); diff != "" {
		t.Errorf("response (-want +got): the chained function's claims and primary_sub\n%s", diff)
	}
}

func TestReadGateConfig(t *testing.T) {
	env := map[string]string{
		"MODE_PARAMETER": "/cognito-dr/tokyo/mode", "MODE_REGION": "ap-northeast-1",
		"PEER_MODE_PARAMETER": "/cognito-dr/osaka/mode", // no PEER_MODE_REGION
		"MODE_CACHE_SECONDS":  "60",
	}
	cfg, problems := replication.ReadGateConfig(func(k string) string { return env[k] })
	if cfg.Own.Name != "/cognito-dr/tokyo/mode" || cfg.Peer.Name != "" || cfg.TTL != 0 {
		t.Errorf("config = %+v", cfg)
	}
	if len(problems) != 2 {
		t.Errorf("problems = %q, want the half-set peer and the cache seconds", problems)
	}
}

func TestGateTriggerStartsWhateverItsSettings(t *testing.T) {
	noClients := func(context.Context) (*awsclients.Clients, error) { return nil, errors.New("no credentials") }
	someClients := func(context.Context) (*awsclients.Clients, error) {
		return awsclients.New(aws.Config{Region: "ap-northeast-1"}, awsclients.Options{}), nil
	}
	for _, c := range []struct {
		name    string
		env     map[string]string
		clients func(context.Context) (*awsclients.Clients, error)
		wantErr bool
		logHas  string
	}{
		{"no settings: open", nil, someClients, false, `"mode_reason":"gate-not-configured"`},
		{"clients fail, no chain: open", map[string]string{"MODE_PARAMETER": "/m", "MODE_REGION": "ap-northeast-1"}, noClients, false, "no credentials"},
		{"clients fail with a chain: refused as Cognito would", map[string]string{"CHAIN_FUNCTION_ARN": "arn:aws:lambda:ap-northeast-1:000000000000:function:theirs"}, noClients, true, "no credentials"},
		{"chain that is not an ARN: refused", map[string]string{"CHAIN_FUNCTION_ARN": "theirs"}, someClients, true, "is not a Lambda function ARN"},
		{"half-set peer: open, named", map[string]string{"PEER_MODE_PARAMETER": "/p"}, someClients, false, "PEER_MODE_PARAMETER and PEER_MODE_REGION are set together"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := replication.PreSignUpTrigger.Start(func(k string) string { return c.env[k] }, c.clients, slog.New(slog.NewJSONHandler(&logs, nil)))
			ev := gateEvent("PreSignUp_SignUp")
			out, err := h(t.Context(), ev)
			if c.wantErr != (err != nil) {
				t.Fatalf("answer %s, %v; want error %v", out, err, c.wantErr)
			}
			if !c.wantErr && string(out) != string(ev) {
				t.Errorf("answer %s, want the event unchanged", out)
			}
			if !bytes.Contains(logs.Bytes(), []byte(c.logHas)) {
				t.Errorf("log %s does not say %s", logs.String(), c.logHas)
			}
		})
	}
}

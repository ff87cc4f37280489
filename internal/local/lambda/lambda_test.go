package lambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	locallambda "github.com/cognito-dr/cognito-dr/internal/local/lambda"
	"github.com/cognito-dr/cognito-dr/internal/local/loopback"
)

type domainRefused struct{}

func (*domainRefused) Error() string { return "Registration from this domain is not allowed." }

func TestInvoke(t *testing.T) {
	ctx := context.Background()
	fns := locallambda.New("000000000000")
	const arn = "arn:aws:lambda:ap-northeast-1:000000000000:function:theirs"
	fns.Register(arn, func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
		var m map[string]any
		if err := json.Unmarshal(ev, &m); err != nil {
			return nil, err
		}
		switch m["userName"] {
		case "refused":
			return nil, &domainRefused{}
		case "panics":
			panic("boom")
		}
		m["response"] = map[string]any{"autoConfirmUser": true}
		return json.Marshal(m)
	})
	st, err := loopback.Start(loopback.Config{Lambda: fns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client := lambda.NewFromConfig(st.AWSConfig("ap-northeast-1"))

	for _, name := range []string{arn, "theirs", "000000000000:function:theirs", arn + ":$LATEST"} {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"userName":"u1","response":{}}`)})
		if err != nil {
			t.Fatalf("Invoke %s: %v", name, err)
		}
		if out.FunctionError != nil || out.StatusCode != 200 || string(out.Payload) != `{"response":{"autoConfirmUser":true},"userName":"u1"}` {
			t.Errorf("Invoke %s: status %d, error %v, payload %s", name, out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
		}
	}
	for _, c := range []struct{ user, payload string }{
		{"refused", `{"errorMessage":"Registration from this domain is not allowed.","errorType":"domainRefused"}`},
		{"panics", `{"errorMessage":"boom","errorType":"string"}`},
	} {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`{"userName":"` + c.user + `"}`)})
		if err != nil {
			t.Fatalf("Invoke: %v (a function's error is not the call's)", err)
		}
		if aws.ToString(out.FunctionError) != "Unhandled" || string(out.Payload) != c.payload {
			t.Errorf("%s: FunctionError %q, payload %s; want Unhandled, %s", c.user, aws.ToString(out.FunctionError), out.Payload, c.payload)
		}
	}
	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("missing"), Payload: []byte(`{}`)})
	if !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Errorf("Invoke of an unknown function: %v, want ResourceNotFoundException", err)
	}
	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`not json`)})
	if !errors.As(err, new(*types.InvalidRequestContentException)) {
		t.Errorf("Invoke with a payload that is not JSON: %v, want InvalidRequestContentException", err)
	}
}

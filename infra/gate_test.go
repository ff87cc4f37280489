package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

const (
	primaryModeArn = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/cognito-dr/ap-northeast-1_AbCdEf123/mode"
	drModeArn      = "arn:aws:ssm:ap-northeast-3:123456789012:parameter/cognito-dr/ap-northeast-3_XyZ987654/mode"
	exampleMessage = "This service is served from another Region right now: please update the app or see https://status.example.com."
)

var (
	primaryPool = Pool{UserPoolID: "ap-northeast-1_AbCdEf123", Region: "ap-northeast-1"}
	drPool      = Pool{UserPoolID: "ap-northeast-3_XyZ987654", Region: "ap-northeast-3"}
)

// gateEnvWant is the environment of a gate trigger of own with the example configuration.
func gateEnvWant(own, peer Pool) map[string]any {
	return map[string]any{
		"MODE_PARAMETER": "/cognito-dr/" + own.UserPoolID + "/mode", "MODE_REGION": own.Region,
		"PEER_MODE_PARAMETER": "/cognito-dr/" + peer.UserPoolID + "/mode", "PEER_MODE_REGION": peer.Region,
		"FENCED_MESSAGE": exampleMessage, "MODE_CACHE_SECONDS": "5",
	}
}

type gateCase struct {
	name      string
	rs        map[string]resource
	gate      *PoolGate
	own, peer Pool
	ownArn    string
}

func gateCases() []gateCase {
	return []gateCase{
		{"primary", repResources, stacks.Replication.Gate, primaryPool, drPool, primaryPoolArn},
		{"dr", rcResources, stacks.Reconcile.Gate, drPool, primaryPool, drPoolArn},
	}
}

var gateTriggers = []struct {
	trigger boundary.Trigger
	name    string
	fn      func(*PoolGate) *GoFunction
}{
	{replication.PreSignUpTrigger, "cognito-dr-pre-sign-up", func(g *PoolGate) *GoFunction { return g.PreSignUp }},
	{replication.PreAuthenticationTrigger, "cognito-dr-pre-authentication", func(g *PoolGate) *GoFunction { return g.PreAuthentication }},
	{replication.PreTokenGenerationTrigger, "cognito-dr-pre-token", func(g *PoolGate) *GoFunction { return g.PreToken }},
}

// Each pool's three gate triggers: 5 s, their names, exactly the settings they declare (their own
// and the peer's mode parameters, the message and cache time), which the trigger reads without a
// problem; reading both mode parameters is all their role may do; only their own pool invokes them.
func TestGateFunctions(t *testing.T) {
	for _, c := range gateCases() {
		for _, tr := range gateTriggers {
			t.Run(c.name+"/"+tr.trigger.Name, func(t *testing.T) {
				fn := tr.fn(c.gate)
				if fn == nil {
					t.Fatal("not deployed")
				}
				got := checkFunctionBasics(t, c.rs, fn)
				if got["Timeout"] != 5.0 || got["FunctionName"] != tr.name || got["MemorySize"] != float64(GateMemoryMiB) {
					t.Errorf("timeout %v, name %v, memory %v", got["Timeout"], got["FunctionName"], got["MemorySize"])
				}
				if _, ok := got["ReservedConcurrentExecutions"]; ok {
					t.Errorf("a gate reserves (and caps) concurrency: throttled users would be refused")
				}
				env := envOf(t, c.rs, fn)
				if diff := cmp.Diff(gateEnvWant(c.own, c.peer), env); diff != "" {
					t.Errorf("environment (-want +got):\n%s", diff)
				}
				checkSettings(t, tr.trigger.Spec(), env)
				gc, problems := replication.ReadGateConfig(asGetenv(env))
				if len(problems) > 0 || gc.Own.Name != poolmode.ParameterName(c.own.UserPoolID) || gc.Peer.Name != poolmode.ParameterName(c.peer.UserPoolID) {
					t.Errorf("the trigger reads %+v, problems %v", gc, problems)
				}
				checkTaskRole(t, c.rs, fn, []any{allowAll([]string{"ssm:GetParameter"}, primaryModeArn, drModeArn)})
				var perms []map[string]any
				fnArn := getAtt(logicalID(t, fn.Function), "Arn")
				for _, r := range c.rs {
					if r.Type == "AWS::Lambda::Permission" && cmp.Equal(r.Properties["FunctionName"], fnArn) {
						perms = append(perms, r.Properties)
					}
				}
				want := []map[string]any{{
					"Action": "lambda:InvokeFunction", "FunctionName": fnArn,
					"Principal": "cognito-idp.amazonaws.com", "SourceArn": c.ownArn, "SourceAccount": "123456789012",
				}}
				if diff := cmp.Diff(want, perms); diff != "" {
					t.Errorf("permissions (-want +got):\n%s", diff)
				}
			})
		}
	}
	// Every Lambda permission of the two Regions' stacks is one of a trigger's: 3 gates + replicate
	// in the primary Region, 3 gates in the DR Region.
	if n, m := countTypeIn(repResources, "AWS::Lambda::Permission"), countTypeIn(rcResources, "AWS::Lambda::Permission"); n != 4 || m != 3 {
		t.Errorf("%d permissions in the primary Region, %d in the DR Region; want 4 and 3", n, m)
	}
}

// modeParameterResource is the custom resource creating a stack's mode parameter, and its Create call.
func modeParameterResource(t *testing.T, rs map[string]resource) (resource, map[string]any) {
	t.Helper()
	var found []resource
	for _, r := range rs {
		if r.Type == "Custom::CognitoDrModeParameter" {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d mode parameter resources, want 1", len(found))
	}
	var call map[string]any
	create, _ := found[0].Properties["Create"].(string)
	if err := json.Unmarshal([]byte(create), &call); err != nil {
		t.Fatalf("Create is not an SDK call: %v (%v)", err, found[0].Properties)
	}
	return found[0], call
}

// The mode parameters are created once, the primary active and the DR pool fenced: PutParameter
// without overwrite, ParameterAlreadyExists ignored, nothing on update or delete, so no redeploy
// changes a mode that failover or failback set.
func TestModeParameters(t *testing.T) {
	for _, c := range gateCases() {
		t.Run(c.name, func(t *testing.T) {
			r, call := modeParameterResource(t, c.rs)
			if _, ok := r.Properties["Update"]; ok {
				t.Errorf("the mode parameter is written on update: %v", r.Properties["Update"])
			}
			if _, ok := r.Properties["Delete"]; ok {
				t.Errorf("the mode parameter is touched on delete: %v", r.Properties["Delete"])
			}
			if r.Properties["InstallLatestAwsSdk"] != false {
				t.Errorf("InstallLatestAwsSdk %v: the provider would download the SDK at deploy", r.Properties["InstallLatestAwsSdk"])
			}
			params, _ := call["parameters"].(map[string]any)
			if call["service"] != "SSM" || call["action"] != "putParameter" || call["ignoreErrorCodesMatching"] != "ParameterAlreadyExists" || call["region"] != c.own.Region {
				t.Errorf("create call %v", call)
			}
			if params["Name"] != poolmode.ParameterName(c.own.UserPoolID) || params["Type"] != "String" || params["Overwrite"] != false {
				t.Errorf("parameters %v", params)
			}
			// The value is a state the gate reads: what the real Parameter.Get decodes.
			s, err := poolmode.Parameter{Client: fixedSSM{value: params["Value"].(string)}, Name: "x"}.Get(t.Context())
			want := poolmode.Active
			if c.name == "dr" {
				want = poolmode.Fenced
			}
			if err != nil || s.Mode != want || s.Cause != poolmode.CauseDeploy {
				t.Errorf("deployed state %+v, %v; want %s by deploy", s, err, want)
			}
		})
	}
}

// Only the mode parameters' create-only provider may call ssm:PutParameter, on its own pool's
// parameter only, and it is denied every overwrite; besides it, the failover tasks (infra/failover.go:
// fence the primary, activate the DR pool) and the failback's switch (fence and reopen the DR pool,
// activate the primary), each on that one pool's parameter. No other role in any stack can change a mode.
func TestNoRoleSetsModes(t *testing.T) {
	all := map[string]map[string]resource{"backup": resources, "failback": fbResources, "replication": repResources, "reconcile": rcResources}
	want := map[string][]stmt{
		"replication": createOnly(primaryModeArn),
		"reconcile": append(createOnly(drModeArn), normalize([]any{
			allowAll([]string{"ssm:PutParameter"}, drModeArn),
			allowAll([]string{"ssm:GetParameter", "ssm:PutParameter"}, primaryModeArn),
		})...),
		"failback": normalize([]any{
			allowAll([]string{"ssm:GetParameter", "ssm:PutParameter"}, drModeArn),
			allowAll([]string{"ssm:PutParameter"}, drModeArn),
			allowAll([]string{"ssm:GetParameter", "ssm:PutParameter"}, primaryModeArn),
		}),
	}
	byText := func(a, b stmt) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) }
	for name, rs := range all {
		var got []stmt
		for _, r := range rs {
			if r.Type != "AWS::IAM::Policy" {
				continue
			}
			for _, s := range normalize(r.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any)) {
				if slices.ContainsFunc(s.Actions, func(a string) bool { return strings.HasPrefix(a, "ssm:") && a != "ssm:GetParameter" }) {
					got = append(got, s)
				}
			}
		}
		slices.SortFunc(got, byText)
		slices.SortFunc(want[name], byText)
		if diff := cmp.Diff(want[name], got); diff != "" {
			t.Errorf("%s: Parameter Store writes (-want +got):\n%s", name, diff)
		}
	}
}

func createOnly(arn string) []stmt {
	return normalize([]any{
		allowAll([]string{"ssm:PutParameter"}, arn),
		map[string]any{"Effect": "Deny", "Action": "ssm:PutParameter", "Resource": arn, "Condition": map[string]any{"StringEquals": map[string]any{"ssm:Overwrite": "true"}}},
	})
}

// fixedSSM answers GetParameter with one value.
type fixedSSM struct{ value string }

func (f fixedSSM) GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(f.value)}}, nil
}

func (f fixedSSM) PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	panic("the gate never writes a mode")
}

// refusingChain is a chained function that refuses every event.
type refusingChain struct{}

func (refusingChain) Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	return &lambda.InvokeOutput{FunctionError: aws.String("Unhandled"), Payload: []byte(`{"errorMessage":"no sign-ups from that domain","errorType":"Refused"}`)}, nil
}

// The errors alarms leave out refusals: the filters match the gate's own log lines, as Lambda's
// logger writes them (message key), for a fenced pool's refusal and a chained function's.
func TestGateRefusalsMatchFilters(t *testing.T) {
	fenced, _ := json.Marshal(poolmode.State{Mode: poolmode.Fenced, Since: DeployedSince, Cause: poolmode.CauseDeploy})
	active, _ := json.Marshal(poolmode.State{Mode: poolmode.Active, Since: DeployedSince, Cause: poolmode.CauseDeploy})
	for _, c := range []struct {
		keeper *replication.Gatekeeper
		want   string
	}{
		{&replication.Gatekeeper{Gate: &poolmode.Gate{Own: poolmode.Parameter{Client: fixedSSM{string(fenced)}, Name: "own"}}}, gateRefusedMessage},
		{&replication.Gatekeeper{
			Gate:  &poolmode.Gate{Own: poolmode.Parameter{Client: fixedSSM{string(active)}, Name: "own"}},
			Chain: &replication.Chain{Client: refusingChain{}, FunctionARN: "arn:aws:lambda:ap-northeast-1:123456789012:function:own"},
		}, gateChainRefusedMessage},
	} {
		var buf strings.Builder
		log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr}))
		h := replication.GateTrigger(PreSignUpTask, c.keeper, nil, log)
		if _, err := h(t.Context(), json.RawMessage(`{"triggerSource":"PreSignUp_SignUp","userPoolId":"ap-northeast-1_AbCdEf123"}`)); err == nil {
			t.Errorf("%s: the event passed", c.want)
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(buf.String())), &line); err != nil {
			t.Fatalf("gate log is not one JSON line: %q", buf.String())
		}
		if line["message"] != c.want {
			t.Errorf("log line message %v, want %q: %v", line["message"], c.want, line)
		}
	}
	for _, tr := range gateTriggers {
		prefix := gateMetricPrefix[tr.trigger.Name]
		for _, c := range gateCases() {
			tmpl := repTemplate
			if c.name == "dr" {
				tmpl = rcTemplate
			}
			for metric, msg := range map[string]string{prefix + "Fenced": gateRefusedMessage, prefix + "ChainRefused": gateChainRefusedMessage} {
				hasPropsIn(t, tmpl, "AWS::Logs::MetricFilter", map[string]any{
					"LogGroupName":          ref(logicalID(t, tr.fn(c.gate).LogGroup)),
					"FilterPattern":         `{ $.message = "` + msg + `" }`,
					"MetricTransformations": []any{map[string]any{"MetricNamespace": MetricNamespace, "MetricName": metric, "MetricValue": "1"}},
				})
			}
			hasPropsIn(t, tmpl, "AWS::CloudWatch::Alarm", map[string]any{
				"AlarmName": "cognito-dr-" + tr.trigger.Name + "-errors", "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
				"Metrics": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Expression": "FILL(errors,0) + FILL(throttles,0) - FILL(fenced,0) - FILL(chainRefused,0)",
				})}),
			})
		}
	}
}

// synthWith synthesizes every stack for c.
func synthWith(t *testing.T, c Config) (*Stacks, map[string]resource, map[string]resource) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("placeholder"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := NewStacks(NewApp(), c, func(string) awslambda.Code { return awslambda.Code_FromAsset(jsii.String(dir), nil) })
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := parse(assertions.Template_FromStack(st.Replication.Stack, nil))
	if err != nil {
		t.Fatal(err)
	}
	rc, _, err := parse(assertions.Template_FromStack(st.Reconcile.Stack, nil))
	if err != nil {
		t.Fatal(err)
	}
	return st, rep, rc
}

// A pool's own functions are chained: the trigger that takes the event gets CHAIN_FUNCTION_ARN
// and may invoke that function (and nothing else more); the replicate trigger chains the primary
// pool's PostConfirmation.
func TestGateChains(t *testing.T) {
	c := cfg
	fn := func(region, name string) string { return "arn:aws:lambda:" + region + ":123456789012:function:" + name }
	c.Primary.ExistingTriggers = PoolTriggers{PreSignUp: fn("ap-northeast-1", "signup-rules"), PostConfirmation: fn("ap-northeast-1", "welcome")}
	c.DR.ExistingTriggers = PoolTriggers{PreTokenGeneration: fn("ap-northeast-3", "claims:live")}
	st, rep, rc := synthWith(t, c)
	read := []any{allowAll([]string{"ssm:GetParameter"}, primaryModeArn, drModeArn)}
	for _, k := range []struct {
		name  string
		rs    map[string]resource
		fn    *GoFunction
		chain string
	}{
		{"primary pre-sign-up", rep, st.Replication.Gate.PreSignUp, c.Primary.ExistingTriggers.PreSignUp},
		{"primary pre-authentication", rep, st.Replication.Gate.PreAuthentication, ""},
		{"dr pre-token", rc, st.Reconcile.PreToken, c.DR.ExistingTriggers.PreTokenGeneration},
		{"dr pre-sign-up", rc, st.Reconcile.Gate.PreSignUp, ""},
	} {
		t.Run(k.name, func(t *testing.T) {
			env := envOf(t, k.rs, k.fn)
			statements := read
			if k.chain != "" {
				statements = append(slices.Clone(read), allowAll([]string{"lambda:InvokeFunction"}, k.chain))
			}
			if got, _ := env["CHAIN_FUNCTION_ARN"].(string); got != k.chain {
				t.Errorf("CHAIN_FUNCTION_ARN %q, want %q", got, k.chain)
			}
			checkTaskRole(t, k.rs, k.fn, statements)
		})
	}
	env := envOf(t, rep, st.Replication.Replicate)
	if env["CHAIN_FUNCTION_ARN"] != c.Primary.ExistingTriggers.PostConfirmation {
		t.Errorf("replicate CHAIN_FUNCTION_ARN %v", env["CHAIN_FUNCTION_ARN"])
	}
	checkSettings(t, replication.PostConfirmationTrigger.Spec(), env)
	pol := rolePolicyIn(t, rep, logicalID(t, st.Replication.Replicate.Role))
	if !slices.ContainsFunc(pol, func(s stmt) bool {
		return slices.Equal(s.Actions, []string{"lambda:InvokeFunction"}) && slices.Equal(s.Resources, []string{`"` + c.Primary.ExistingTriggers.PostConfirmation + `"`})
	}) {
		t.Errorf("replicate may not invoke its chained function: %v", pol)
	}
}

// gate.enabled=false: no gate functions, no mode parameters; the DR pool's pre-token trigger only
// adds the primary_sub claim (no settings, its logs only).
func TestGateSwitch(t *testing.T) {
	off := cfg
	off.Gate.Enabled = jsii.Bool(false)
	st, rep, rc := synthWith(t, off)
	if st.Replication.Gate.PreSignUp != nil || st.Replication.Gate.PreToken != nil || st.Reconcile.Gate.PreSignUp != nil || st.Reconcile.Gate.PreAuthentication != nil {
		t.Errorf("gate functions deployed while the gate is off")
	}
	for name, rs := range map[string]map[string]resource{"replication": rep, "reconcile": rc} {
		if n := countTypeIn(rs, "Custom::CognitoDrModeParameter"); n != 0 {
			t.Errorf("%s: %d mode parameters while the gate is off", name, n)
		}
	}
	if n := countTypeIn(rep, "AWS::Lambda::Function"); n != 1 {
		t.Errorf("%d functions in the primary Region, want the replicate trigger only", n)
	}
	if env := envOf(t, rc, st.Reconcile.PreToken); len(env) != 0 {
		t.Errorf("pre-token settings while the gate is off: %v", env)
	}
	checkTaskRole(t, rc, st.Reconcile.PreToken, nil)
}

func TestGateConfig(t *testing.T) {
	base := `"account":"123456789012","operatorEmails":["ops@example.com"]`
	pools := func(primary, dr string) string {
		return `"primary":{"userPoolId":"ap-northeast-1_A1","region":"ap-northeast-1"` + primary + `},"dr":{"userPoolId":"ap-northeast-3_B2","region":"ap-northeast-3"` + dr + `}`
	}
	c, err := ParseConfig([]byte("{" + base + "," + pools("", "") + "}"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.GateEnabled() || c.Gate.FencedMessage != "" || c.Gate.ModeCacheSeconds != 0 {
		t.Errorf("defaults: %+v", c.Gate)
	}
	ok := `,"existingTriggers":{"preSignUp":"arn:aws:lambda:ap-northeast-1:210987654321:function:rules","preTokenGeneration":"arn:aws:lambda:ap-northeast-1:123456789012:function:claims:3"}`
	if c, err := ParseConfig([]byte("{" + base + "," + pools(ok, "") + `,"gate":{"fencedMessage":"Go to https://eu.example.com","modeCacheSeconds":10}}`)); err != nil {
		t.Errorf("valid gate configuration refused: %v", err)
	} else if c.Primary.ExistingTriggers.PreSignUp == "" || c.Gate.ModeCacheSeconds != 10 {
		t.Errorf("decoded %+v %+v", c.Primary, c.Gate)
	}
	for _, bad := range []struct{ body, names string }{
		{pools("", "") + `,"gate":{"modeCacheSeconds":11}`, "gate.modeCacheSeconds"},
		{pools(`,"existingTriggers":{"preSignUp":"rules"}`, ""), "primary.existingTriggers.preSignUp"},
		{pools(`,"existingTriggers":{"preAuthentication":"arn:aws:lambda:ap-northeast-3:123456789012:function:x"}`, ""), "not in the pool's Region"},
		{pools("", `,"existingTriggers":{"preSignUp":"arn:aws:lambda:ap-northeast-3:123456789012:function:cognito-dr-pre-sign-up"}`), "Cognito DR's own trigger"},
		{pools("", `,"existingTriggers":{"postConfirmation":"arn:aws:lambda:ap-northeast-3:123456789012:function:welcome"}`), "dr.existingTriggers.postConfirmation"},
		{pools(`,"existingTriggers":{"preSignUp":"arn:aws:lambda:ap-northeast-1:123456789012:function:rules"}`, "") + `,"gate":{"enabled":false}`, "gate.enabled false"},
		{pools(`,"existingTriggers":{"preSignup":"arn:aws:lambda:ap-northeast-1:123456789012:function:rules"}`, ""), "preSignup"},
	} {
		_, err := ParseConfig([]byte("{" + base + "," + bad.body + "}"))
		if err == nil || !strings.Contains(err.Error(), bad.names) {
			t.Errorf("%s: error %v does not name %q", bad.body, err, bad.names)
		}
	}
}

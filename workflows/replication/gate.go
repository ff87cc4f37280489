package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

// The gate triggers' settings, all optional: a trigger never refuses to start, and a gate with
// no mode parameter is open (its log line says so).
var gateSettings = boundary.Optional(
	// MODE_PARAMETER and MODE_REGION: the pool's own mode parameter, in the pool's Region.
	"MODE_PARAMETER", "MODE_REGION",
	// PEER_MODE_PARAMETER and PEER_MODE_REGION: the other pool's, in the other Region.
	"PEER_MODE_PARAMETER", "PEER_MODE_REGION",
	// FENCED_MESSAGE: what users of a fenced pool are told when its mode carries no message.
	"FENCED_MESSAGE",
	// MODE_CACHE_SECONDS: how long a read mode is used (1 to 10; default 5).
	"MODE_CACHE_SECONDS",
	// CHAIN_FUNCTION_ARN: the function the pool had on this event before the gate, if any.
	"CHAIN_FUNCTION_ARN",
)

// The gate triggers: one function per event, attached to both pools. Each consults the pool's
// mode, then chains to the pool's own function on the event when it had one.
var (
	// PreSignUpTrigger refuses self-service sign-up while the pool is fenced.
	PreSignUpTrigger = boundary.Trigger{Name: "pre-sign-up", Settings: gateSettings, Handler: gateHandler("pre-sign-up", nil)}
	// PreAuthenticationTrigger refuses sign-in while the pool is fenced.
	PreAuthenticationTrigger = boundary.Trigger{Name: "pre-authentication", Settings: gateSettings, Handler: gateHandler("pre-authentication", nil)}
	// PreTokenGenerationTrigger refuses sign-in and token refresh while the pool is fenced, and
	// adds the primary_sub claim (PreTokenGeneration) to what passes.
	PreTokenGenerationTrigger = boundary.Trigger{Name: "pre-token", Settings: gateSettings, Handler: gateHandler("pre-token", AddPrimarySub)}
)

// PoolFenced is a fenced pool's refusal. Cognito shows the user "<Trigger> failed with error
// <Message>." (UserLambdaValidationException), so Message is all the user reads.
type PoolFenced struct{ Message string }

func (e *PoolFenced) Error() string { return e.Message }

// ChainedFunctionError is the chained function's own error. Its message is the function's,
// unchanged, so the user sees what they saw before the gate was attached.
type ChainedFunctionError struct{ Type, Message string }

func (e *ChainedFunctionError) Error() string { return e.Message }

// Invoker is the Lambda API the gate calls to chain to a pool's own function.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Chain is the function a pool had on an event before the gate took its place.
type Chain struct {
	Client      Invoker
	FunctionARN string
}

// Invoke runs the chained function with the event as Cognito sent it and returns its answer.
// The function's own error comes back as a ChainedFunctionError carrying its message.
func (c *Chain) Invoke(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
	out, err := c.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(c.FunctionARN), Payload: event})
	if err != nil {
		return nil, fmt.Errorf("invoke chained function %s: %w", c.FunctionARN, err)
	}
	if out.FunctionError != nil {
		// Lambda's error payload: {"errorMessage": …, "errorType": …}.
		var e struct {
			Message string `json:"errorMessage"`
			Type    string `json:"errorType"`
		}
		if json.Unmarshal(out.Payload, &e) != nil || e.Message == "" {
			e.Message = string(out.Payload)
		}
		return nil, &ChainedFunctionError{Type: e.Type, Message: e.Message}
	}
	return out.Payload, nil
}

// Gatekeeper is what a gate trigger consults for each event.
type Gatekeeper struct {
	// Gate is the pool's mode gate; nil is open.
	Gate *poolmode.Gate
	// Chain is the pool's own function on the event; nil passes the event on as it came.
	Chain *Chain
	// Problems are configuration problems the trigger works around; its log line names them.
	Problems []string
}

// refusable reports whether a fenced pool refuses the event. Sign-up by an administrator
// (AdminCreateUser) passes: it is how the replicate trigger and reconcile fill the pool.
func refusable(source string) bool { return source != "PreSignUp_AdminCreateUser" }

// GateTrigger is a gate trigger as Lambda invokes it. A fenced pool refuses the event with its
// message; otherwise the event goes to the chained function, if any, and then to then, if any.
// Like every trigger it fails open: a mode it cannot read, an event it cannot decode, a then
// that fails all let the user through (then's failure passes the event as it was before then). A chained function's answer and error pass unchanged; a
// chained function that cannot be invoked fails the event, as Cognito fails it when it cannot
// invoke a function attached directly. One log line per event, naming no user.
func GateTrigger(task string, g *Gatekeeper, then func(json.RawMessage) (json.RawMessage, []any, error), log *slog.Logger) boundary.Func {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		start := time.Now()
		var hdr events.CognitoEventUserPoolsHeader
		_ = json.Unmarshal(payload, &hdr) // lenient: an event this code cannot read still passes
		d := poolmode.Decision{Mode: poolmode.Active, Reason: poolmode.ReasonNotConfigured}
		switch {
		case !refusable(hdr.TriggerSource):
			// It passes whatever the mode: no Parameter Store read in the replicate trigger's time.
			d.Reason = "administrator sign-up, not gated"
		case g.Gate != nil:
			d = g.Gate.Check(ctx)
		}
		attrs := []any{slog.String("task", task), slog.String("trigger_source", hdr.TriggerSource), slog.String("user_pool", hdr.UserPoolID),
			slog.String("mode", string(d.Mode)), slog.String("mode_reason", d.Reason)}
		if d.Err != nil {
			attrs = append(attrs, slog.String("mode_error", d.Err.Error()))
		}
		if len(g.Problems) > 0 {
			attrs = append(attrs, slog.Any("config_problems", g.Problems))
		}
		done := func() []any { return append(attrs, slog.Duration("elapsed", time.Since(start))) }
		if d.Fenced() && refusable(hdr.TriggerSource) {
			log.WarnContext(ctx, "pool fenced: user refused", done()...)
			return nil, &PoolFenced{Message: d.Message}
		}
		out := payload
		if g.Chain != nil {
			var err error
			out, err = g.Chain.Invoke(ctx, payload)
			attrs = append(attrs, slog.String("chained", g.Chain.FunctionARN))
			if _, ok := errors.AsType[*ChainedFunctionError](err); ok {
				log.InfoContext(ctx, "chained function refused the event", append(done(), slog.String("error", err.Error()))...)
				return nil, err
			}
			if err != nil {
				log.ErrorContext(ctx, "chained function could not be invoked; event refused as Cognito would", append(done(), slog.String("error", err.Error()))...)
				return nil, err
			}
		}
		if then != nil {
			next, more, err := then(out)
			attrs = append(attrs, more...)
			if err != nil {
				log.ErrorContext(ctx, "gate passed; the rest of the trigger failed and the event goes on as it was", append(done(), slog.String("error", err.Error()))...)
				return out, nil
			}
			out = next
		}
		log.InfoContext(ctx, "gate passed", done()...)
		return out, nil
	}
}

// GateConfig is a gate trigger's configuration, read from its settings.
type GateConfig struct {
	Own, Peer         modeParameter
	Message, ChainARN string
	TTL               time.Duration
}

type modeParameter struct{ Name, Region string }

// ReadGateConfig reads the gate settings. What it cannot use it leaves out and names in
// problems: the trigger still starts, and its log line carries them.
func ReadGateConfig(getenv func(string) string) (cfg GateConfig, problems []string) {
	pair := func(name, region string) modeParameter {
		p := modeParameter{getenv(name), getenv(region)}
		if (p.Name == "") != (p.Region == "") {
			problems = append(problems, fmt.Sprintf("%s and %s are set together or not at all", name, region))
			return modeParameter{}
		}
		return p
	}
	cfg.Own = pair("MODE_PARAMETER", "MODE_REGION")
	cfg.Peer = pair("PEER_MODE_PARAMETER", "PEER_MODE_REGION")
	if cfg.Own.Name == "" && cfg.Peer.Name != "" {
		problems = append(problems, "PEER_MODE_PARAMETER without MODE_PARAMETER: the gate is open")
	}
	cfg.Message = getenv("FENCED_MESSAGE")
	if v := getenv("MODE_CACHE_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > int(poolmode.MaxTTL/time.Second) {
			problems = append(problems, fmt.Sprintf("MODE_CACHE_SECONDS=%q is not a whole number from 1 to %d; using %v", v, int(poolmode.MaxTTL/time.Second), poolmode.DefaultTTL))
		} else {
			cfg.TTL = time.Duration(n) * time.Second
		}
	}
	cfg.ChainARN = getenv("CHAIN_FUNCTION_ARN")
	return cfg, problems
}

// Gatekeeper builds the gate and the chain on clients.
func (c GateConfig) Gatekeeper(clients *awsclients.Clients, problems []string) *Gatekeeper {
	g := &Gatekeeper{Problems: problems}
	if c.Own.Name != "" {
		g.Gate = &poolmode.Gate{Own: poolmode.Parameter{Client: clients.SSM(c.Own.Region), Name: c.Own.Name}, Message: c.Message, TTL: c.TTL}
		if c.Peer.Name != "" {
			g.Gate.Peer = &poolmode.Parameter{Client: clients.SSM(c.Peer.Region), Name: c.Peer.Name}
		}
	}
	if c.ChainARN != "" {
		var problem string
		if g.Chain, problem = newChain(clients, c.ChainARN); problem != "" {
			g.Problems = append(g.Problems, problem)
		}
	}
	return g
}

// newChain is the chain to the function arn names, invoked in the function's Region; an ARN
// that names no function gives a chain that fails every invocation, and the problem.
func newChain(clients *awsclients.Clients, functionARN string) (*Chain, string) {
	a, err := arn.Parse(functionARN)
	if err != nil || a.Service != "lambda" || a.Region == "" {
		problem := fmt.Sprintf("CHAIN_FUNCTION_ARN %q is not a Lambda function ARN", functionARN)
		return &Chain{Client: failingInvoker{errors.New(problem)}, FunctionARN: functionARN}, problem
	}
	return &Chain{Client: clients.Lambda(a.Region), FunctionARN: functionARN}, ""
}

// Alongside is a trigger that never fails (h, the replicate trigger) sharing its event with the
// function the pool had on it before: both run at once on the event as Cognito sent it, and the
// chained function's answer and error are the trigger's, unchanged, so users see what they saw
// before h was attached. For events whose answer Cognito does not read (PostConfirmation).
func Alongside(task string, h boundary.Func, chain *Chain, log *slog.Logger) boundary.Func {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			h(ctx, payload) //nolint:errcheck // h never fails and logs its own line
		}()
		out, err := chain.Invoke(ctx, payload)
		<-done
		switch _, theirs := errors.AsType[*ChainedFunctionError](err); {
		case theirs:
			log.InfoContext(ctx, "chained function refused the event", slog.String("task", task), slog.String("chained", chain.FunctionARN), slog.String("error", err.Error()))
		case err != nil:
			log.ErrorContext(ctx, "chained function could not be invoked; event refused as Cognito would", slog.String("task", task), slog.String("chained", chain.FunctionARN), slog.String("error", err.Error()))
		}
		return out, err
	}
}

// failingInvoker is the chain of a trigger that cannot invoke it: every invocation fails with why.
type failingInvoker struct{ err error }

func (f failingInvoker) Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	return nil, f.err
}

// gateHandler is a gate trigger as its Lambda starts it: the settings read once, the clients
// loaded at the first invocation (and again at the next while they fail: the gate is open and a
// chain fails meanwhile), one Gatekeeper, so its mode cache spans the container's invocations.
func gateHandler(task string, then func(json.RawMessage) (json.RawMessage, []any, error)) func(func(string) string, func(context.Context) (*awsclients.Clients, error), *slog.Logger) boundary.Func {
	return func(getenv func(string) string, clients func(context.Context) (*awsclients.Clients, error), log *slog.Logger) boundary.Func {
		cfg, problems := ReadGateConfig(getenv)
		keeper := boundary.NewRetrying(func(ctx context.Context) (*Gatekeeper, error) {
			c, err := clients(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s trigger cannot load AWS clients: %w", task, err)
			}
			return cfg.Gatekeeper(c, problems), nil
		})
		return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
			g, err := keeper.Get(ctx)
			if err != nil {
				g = &Gatekeeper{Problems: append(append([]string{}, problems...), err.Error())}
				if cfg.ChainARN != "" {
					g.Chain = &Chain{Client: failingInvoker{err}, FunctionARN: cfg.ChainARN}
				}
			}
			return GateTrigger(task, g, then, log)(ctx, payload)
		}
	}
}

// Package poolmode is a user pool's mode, active or fenced, kept in SSM Parameter Store in the
// pool's own Region (so the pool's triggers can read it when the other Region is down), and the
// gate that Cognito triggers consult before letting a user sign up, sign in or refresh.
//
// The gate fails open for an active pool (a mode it cannot read never locks out the healthy
// Region) and closed for a fenced one (the last mode it read was fenced; or, never having read
// its own, the peer answers that it is the active one). It also reads the peer
// pool's mode when the peer's Region answers quickly: a pool whose peer became active by a
// failover after the pool's own last activation is fenced, so a primary that was unreachable
// during the failover comes back fenced instead of taking users nobody will carry over.
package poolmode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Mode is what a pool lets its users do.
type Mode string

// The modes.
const (
	// Active: sign-up, sign-in and token refresh work.
	Active Mode = "active"
	// Fenced: sign-up, sign-in and token refresh are refused with the state's message.
	Fenced Mode = "fenced"
)

// Causes: what set a mode. The peer rule reads it: only a failover fences the other pool.
const (
	CauseFailover = "failover"
	CauseFailback = "failback"
	CauseDeploy   = "deploy"
	CauseOperator = "operator"
)

// DefaultMessage is what users of a fenced pool are told when its state carries no message and
// the gate has no configured one.
const DefaultMessage = "This service has moved to another Region. Please sign in through its current address."

// State is a pool's mode as its parameter holds it (a JSON object).
type State struct {
	Mode Mode `json:"mode"`
	// Since is when the mode was set: for an active pool, its last activation.
	Since time.Time `json:"since"`
	// Cause is what set the mode (CauseFailover, …).
	Cause string `json:"cause,omitempty"`
	// Message is what a fenced pool's users are told: where to go instead.
	Message string `json:"message,omitempty"`
}

// Validate reports a state no gate could act on.
func (s State) Validate() error {
	switch s.Mode {
	case Active, Fenced:
	default:
		return fmt.Errorf("mode %q is neither %q nor %q", s.Mode, Active, Fenced)
	}
	if s.Since.IsZero() {
		return errors.New("mode has no since time")
	}
	return nil
}

// SSM is the Parameter Store API the package calls.
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// Parameter is one pool's mode parameter: its name in the pool's Region and a client of that
// Region's Parameter Store.
type Parameter struct {
	Client SSM
	Name   string
}

// ParameterName is the name of a pool's mode parameter, in the pool's Region: what the gate
// triggers, the failover and failback commands, readiness and the deployment all use.
func ParameterName(poolID string) string { return "/cognito-dr/" + poolID + "/mode" }

// ErrNotSet is Get's error for a parameter that does not exist: no mode was ever written.
var ErrNotSet = errors.New("no mode set")

// Get reads the pool's state.
func (p Parameter) Get(ctx context.Context) (State, error) {
	out, err := p.Client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(p.Name)})
	if err != nil {
		if _, ok := errors.AsType[*ssmtypes.ParameterNotFound](err); ok {
			return State{}, fmt.Errorf("read mode parameter %s: %w", p.Name, ErrNotSet)
		}
		return State{}, fmt.Errorf("read mode parameter %s: %w", p.Name, err)
	}
	if out.Parameter == nil {
		return State{}, fmt.Errorf("read mode parameter %s: no parameter in the answer", p.Name)
	}
	var s State
	if err := json.Unmarshal([]byte(aws.ToString(out.Parameter.Value)), &s); err != nil {
		return State{}, fmt.Errorf("mode parameter %s is not a mode: %w", p.Name, err)
	}
	if err := s.Validate(); err != nil {
		return State{}, fmt.Errorf("mode parameter %s: %w", p.Name, err)
	}
	return s, nil
}

// Set writes the pool's state, replacing the one there: the failover and failback commands'
// switch. Writing the same state again is harmless.
func (p Parameter) Set(ctx context.Context, s State) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("set mode parameter %s: %w", p.Name, err)
	}
	s.Since = s.Since.UTC()
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = p.Client.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(p.Name), Value: aws.String(string(b)), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("set mode parameter %s: %w", p.Name, err)
	}
	return nil
}

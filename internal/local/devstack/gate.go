package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	locallambda "github.com/cognito-dr/cognito-dr/internal/local/lambda"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	localssm "github.com/cognito-dr/cognito-dr/internal/local/ssm"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// GatePool is a pool the gate triggers guard: its ID and Region.
type GatePool struct{ ID, Region string }

// GatePools are the scenario's primary (Tokyo) and DR (Osaka) pools.
func (sc *Scenario) GatePools() (primary, dr GatePool) {
	return GatePool{sc.TokyoID, sc.Tokyo.Region}, GatePool{sc.OsakaID, sc.Osaka.Region}
}

// GateOptions configure the gates.
type GateOptions struct {
	// Message is FENCED_MESSAGE; empty leaves the built-in one.
	Message string
	// CacheSeconds is MODE_CACHE_SECONDS; 0 leaves the default.
	CacheSeconds int
	// Chain names the function a pool had on an event before the gate: pool ID → trigger name
	// (pre-sign-up, pre-authentication, pre-token) → function ARN, registered with Functions.
	Chain map[string]map[string]string
	// Log receives the triggers' lines; nil discards them.
	Log *slog.Logger
}

// Gates are the fence switch on the local stack: Parameter Store with both pools' modes, the
// Lambda endpoint chained functions are invoked on, and the gate triggers of both pools, started
// from their settings as their Lambdas start and bound in the Cognito emulator.
type Gates struct {
	SSM *localssm.Store
	// Functions serve Lambda Invoke: register the pools' own functions here to chain to them.
	Functions *locallambda.Functions
	// Modes are the pools' mode parameters by pool ID.
	Modes map[string]poolmode.Parameter
	// ARNs are the gate functions by pool ID and trigger name.
	ARNs map[string]map[string]string

	stack       *Stack
	primary, dr GatePool
	opts        GateOptions
}

// gateTriggers are the gate triggers attached to every pool.
var gateTriggers = []boundary.Trigger{replication.PreSignUpTrigger, replication.PreAuthenticationTrigger, replication.PreTokenGenerationTrigger}

// serveGates returns the gates over the stack's Parameter Store and Lambda Invoke endpoint.
func (s *Stack) serveGates() *Gates {
	return &Gates{
		SSM:       s.SSM,
		Functions: s.Functions,
		Modes:     map[string]poolmode.Parameter{},
		ARNs:      map[string]map[string]string{},
	}
}

// WireGates serves Parameter Store and Lambda Invoke on the stack, starts the gate triggers of
// both pools (each reading its own mode and the other's), binds them in the Cognito emulator and
// attaches them to the pools (DescribeUserPool, then UpdateUserPool with the whole configuration
// and the three triggers set, so nothing else changes). Modes not set yet are written first: the
// primary active and the DR pool fenced, as deployed.
func (s *Stack) WireGates(ctx context.Context, primary, dr GatePool, opts GateOptions) (*Gates, error) {
	g := s.serveGates()
	g.stack, g.primary, g.dr, g.opts = s, primary, dr, opts
	if err := g.setDeployedModes(ctx); err != nil {
		return nil, err
	}
	if err := g.Restart(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// setDeployedModes writes the modes a deployment starts with, where none is set (SetDeployedModes).
func (g *Gates) setDeployedModes(ctx context.Context) error {
	params, err := g.stack.SetDeployedModes(ctx, g.primary, g.dr, g.opts.Message)
	if err != nil {
		return err
	}
	maps.Copy(g.Modes, params)
	return nil
}

// Restart starts the gate triggers anew, as fresh Lambda containers with empty caches, and
// attaches them again; the modes stay as they are.
func (g *Gates) Restart(ctx context.Context) error {
	s, primary, dr, opts := g.stack, g.primary, g.dr, g.opts
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	clients := func(context.Context) (*awsclients.Clients, error) { return s.Clients, nil }
	for _, pair := range [][2]GatePool{{primary, dr}, {dr, primary}} {
		own, peer := pair[0], pair[1]
		env := map[string]string{
			"MODE_PARAMETER": poolmode.ParameterName(own.ID), "MODE_REGION": own.Region,
			"PEER_MODE_PARAMETER": poolmode.ParameterName(peer.ID), "PEER_MODE_REGION": peer.Region,
			"FENCED_MESSAGE": opts.Message,
		}
		if opts.CacheSeconds > 0 {
			env["MODE_CACHE_SECONDS"] = strconv.Itoa(opts.CacheSeconds)
		}
		arns := map[string]string{}
		for _, tr := range gateTriggers {
			settings := map[string]string{"CHAIN_FUNCTION_ARN": opts.Chain[own.ID][tr.Name]}
			fn := tr.Start(func(k string) string {
				if v, ok := settings[k]; ok {
					return v
				}
				return env[k]
			}, clients, log)
			arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:cognito-dr-%s", own.Region, localaws.DefaultAccountID, tr.Name)
			s.Cognito.RegisterLambda(arn, localcognito.LambdaFunc(fn))
			g.Functions.Register(arn, locallambda.Func(fn))
			arns[tr.Name] = arn
		}
		g.ARNs[own.ID] = arns
		if err := s.attachTriggers(ctx, own, func(lc *types.LambdaConfigType) {
			lc.PreSignUp = aws.String(arns[replication.PreSignUpTrigger.Name])
			lc.PreAuthentication = aws.String(arns[replication.PreAuthenticationTrigger.Name])
			lc.PreTokenGeneration = aws.String(arns[replication.PreTokenGenerationTrigger.Name])
			if c := lc.PreTokenGenerationConfig; c != nil {
				c.LambdaArn = lc.PreTokenGeneration
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// SetMode writes a pool's mode: what the failover and failback commands will do.
func (g *Gates) SetMode(ctx context.Context, poolID string, s poolmode.State) error {
	p, ok := g.Modes[poolID]
	if !ok {
		return fmt.Errorf("pool %s has no gate", poolID)
	}
	return p.Set(ctx, s)
}

// attachTriggers changes a pool's triggers the safe way: the whole configuration as
// DescribeUserPool returns it, with set applied, because UpdateUserPool resets what it is not sent.
func (s *Stack) attachTriggers(ctx context.Context, pool GatePool, set func(*types.LambdaConfigType)) error {
	c := s.Clients.Cognito(pool.Region)
	d, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool.ID)})
	if err != nil {
		return fmt.Errorf("describe pool %s: %w", pool.ID, err)
	}
	p := d.UserPool
	lc := &types.LambdaConfigType{}
	if p.LambdaConfig != nil {
		*lc = *p.LambdaConfig
	}
	set(lc)
	in := &cip.UpdateUserPoolInput{
		UserPoolId: aws.String(pool.ID), LambdaConfig: lc, Policies: p.Policies,
		MfaConfiguration: p.MfaConfiguration, AutoVerifiedAttributes: p.AutoVerifiedAttributes,
		AccountRecoverySetting: p.AccountRecoverySetting, AdminCreateUserConfig: p.AdminCreateUserConfig,
		DeviceConfiguration: p.DeviceConfiguration, EmailConfiguration: p.EmailConfiguration,
		EmailVerificationMessage: p.EmailVerificationMessage, EmailVerificationSubject: p.EmailVerificationSubject,
		SmsAuthenticationMessage: p.SmsAuthenticationMessage, SmsConfiguration: p.SmsConfiguration,
		SmsVerificationMessage: p.SmsVerificationMessage, UserAttributeUpdateSettings: p.UserAttributeUpdateSettings,
		UserPoolAddOns: p.UserPoolAddOns, UserPoolTags: p.UserPoolTags, VerificationMessageTemplate: p.VerificationMessageTemplate,
		DeletionProtection: p.DeletionProtection, PoolName: p.Name, UserPoolTier: p.UserPoolTier,
	}
	if _, err := c.UpdateUserPool(ctx, in); err != nil {
		return fmt.Errorf("attach triggers to pool %s: %w", pool.ID, err)
	}
	return nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CodeSource gives the deployment package of the Lambda built from tasks/<task>.
type CodeSource func(task string) awslambda.Code

// AssetDir is where BuildTasks puts tasks/<task>'s binary: <out>/<task>/bootstrap.
func AssetDir(out, task string) string { return filepath.Join(out, task) }

// DirCode deploys the binaries BuildTasks wrote under out.
func DirCode(out string) CodeSource {
	return func(task string) awslambda.Code {
		return awslambda.Code_FromAsset(jsii.String(AssetDir(out, task)), nil)
	}
}

// buildCommand is the one way every Go Lambda is built: Linux arm64 for provided.al2023, static,
// no RPC server (lambda.norpc: the al2023 runtime calls the Runtime API directly), no local paths
// or VCS stamps in the binary so an unchanged task keeps its asset hash and `cdk diff` stays quiet.
func buildCommand(root, binDir string, tasks []string) *exec.Cmd {
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", binDir + string(filepath.Separator)}
	for _, t := range tasks {
		args = append(args, "./tasks/"+t)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	cmd.Stdout = os.Stderr // stdout of a CDK app is not for humans
	cmd.Stderr = os.Stderr
	return cmd
}

// BuildTasks compiles tasks/<task> of the module at root into <out>/<task>/bootstrap, in one go
// build so the packages the tasks share compile once.
func BuildTasks(root, out string, tasks []string) error {
	bin := filepath.Join(out, ".bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if err := buildCommand(root, bin, tasks).Run(); err != nil {
		return fmt.Errorf("go build %v for linux/arm64: %w", tasks, err)
	}
	for _, t := range tasks {
		dir := AssetDir(out, t)
		// Only the binary may be in the asset directory: the asset hash covers the directory.
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(bin, t), filepath.Join(dir, "bootstrap")); err != nil {
			return fmt.Errorf("task %s: %w", t, err)
		}
	}
	return os.RemoveAll(bin)
}

// ModuleRoot finds the directory of go.mod from dir upwards.
func ModuleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("no go.mod above " + dir)
		}
	}
}

// GoFunctionProps configures one Go Lambda.
type GoFunctionProps struct {
	// Task is the directory under tasks/ the function is built from.
	Task string
	// FunctionName is the physical name, so operators find the logs by the task's name.
	FunctionName string
	Code         CodeSource
	MemoryMiB    float64
	Timeout      awscdk.Duration
	// ReservedConcurrency caps concurrent invocations; 0 leaves the function unreserved.
	ReservedConcurrency float64
	// TmpMiB is the function's ephemeral storage (/tmp); 0 leaves Lambda's default, 512 MiB.
	TmpMiB       float64
	Environment  map[string]*string
	LogRetention awslogs.RetentionDays
}

// GoFunction is a Go Lambda with a role of its own that holds nothing but its log permissions
// until the stack grants it exactly what the task calls.
type GoFunction struct {
	Function awslambda.Function
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
}

// NewGoFunction builds the Lambda of one task: provided.al2023 on arm64, JSON logs at INFO to a log
// group with a retention, and a dedicated role without managed policies.
func NewGoFunction(scope constructs.Construct, id string, p GoFunctionProps) *GoFunction {
	c := constructs.NewConstruct(scope, jsii.String(id))
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     p.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Cognito DR task " + p.Task + ": only what the task calls"),
	})
	// The log group exists before the function, so the role needs no logs:CreateLogGroup.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{logs.LogGroupArn()},
	}))
	// The Go runtime collects harder as the heap nears GOMEMLIMIT, instead of growing until Lambda
	// stops the function at its memory size: the limit leaves a tenth for the runtime's own memory.
	env := map[string]*string{}
	for k, v := range p.Environment {
		env[k] = v
	}
	env["GOMEMLIMIT"] = jsii.String(GoMemLimit(p.MemoryMiB))
	props := &awslambda.FunctionProps{
		FunctionName:          jsii.String(p.FunctionName),
		Description:           jsii.String("Cognito DR task " + p.Task + " (tasks/" + p.Task + ")"),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  p.Code(p.Task),
		MemorySize:            jsii.Number(p.MemoryMiB),
		Timeout:               p.Timeout,
		Role:                  role,
		Environment:           &env,
		LogGroup:              logs,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
	}
	if p.TmpMiB > 0 {
		props.EphemeralStorageSize = awscdk.Size_Mebibytes(jsii.Number(p.TmpMiB))
	}
	if p.ReservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(p.ReservedConcurrency)
	}
	fn := awslambda.NewFunction(c, jsii.String("Function"), props)
	return &GoFunction{Function: fn, Role: role, LogGroup: logs}
}

// GoMemLimit is the GOMEMLIMIT of a function of memoryMiB: 90% of it.
func GoMemLimit(memoryMiB float64) string {
	return fmt.Sprintf("%dMiB", int(memoryMiB*9/10))
}

package lambdamain

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

type in struct {
	Pool string `json:"pool"`
}

type out struct {
	Pool   string `json:"pool"`
	Prefix string `json:"prefix"`
}

type steps struct{ prefix string }

func (s *steps) step(_ context.Context, i in) (out, error) {
	if i.Pool == "" {
		return out{}, stateerr.Invalid("pool is required")
	}
	return out{Pool: i.Pool, Prefix: s.prefix}, nil
}

var task = boundary.Task[*steps, in, out]{
	Name: "step", Placeholder: "StepFunctionArn",
	Settings: []boundary.Setting{{Name: "PREFIX"}, {Name: "TOPIC_ARN"}, {Name: "LEVEL", Optional: true}},
	Load: func(_ context.Context, env *boundary.Env, _ *awsclients.Clients, _ *slog.Logger) (*steps, error) {
		return &steps{prefix: env.Get("PREFIX")}, nil
	},
	Step: (*steps).step,
}

func awsEnv(t *testing.T) {
	t.Setenv("AWS_REGION", "ap-northeast-3")
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestHandlerThroughTheLambdaRuntime builds a task the way main does and invokes it through
// aws-lambda-go's own handler, as the Lambda runtime does: output and error type names must be
// what the state machines expect.
func TestHandlerThroughTheLambdaRuntime(t *testing.T) {
	awsEnv(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h, err := build(t.Context(), task, getenv(map[string]string{"PREFIX": "p/", "TOPIC_ARN": "arn"}), log)
	if err != nil {
		t.Fatal(err)
	}
	rt := lambda.NewHandler(h)
	got, err := rt.Invoke(t.Context(), []byte(`{"pool":"ap-northeast-1_A"}`))
	if err != nil || string(got) != `{"pool":"ap-northeast-1_A","prefix":"p/"}` {
		t.Errorf("Invoke = %s, %v", got, err)
	}
	_, err = rt.Invoke(t.Context(), []byte(`{"pool":""}`))
	if boundary.TypeName(err) != "InvalidInput" {
		t.Errorf("error type %q (%v), want InvalidInput as the runtime reports it", boundary.TypeName(err), err)
	}
	_, err = rt.Invoke(t.Context(), []byte(`{"pool":"x","extra":1}`))
	if boundary.TypeName(err) != "InvalidInput" {
		t.Errorf("unknown field: error type %q (%v), want InvalidInput", boundary.TypeName(err), err)
	}
}

// A task does not start without its required settings, and says which: all of them at once.
func TestMissingSettingsAreNamed(t *testing.T) {
	awsEnv(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	_, err := build(t.Context(), task, getenv(map[string]string{"LEVEL": "x"}), log)
	if err == nil || !strings.Contains(err.Error(), "PREFIX, TOPIC_ARN") || strings.Contains(err.Error(), "LEVEL") {
		t.Errorf("error %v, want both missing settings named and not the optional one", err)
	}
	// A Load that reads a setting the task does not declare would get nothing in AWS: refused.
	sneaky := task
	sneaky.Load = func(_ context.Context, env *boundary.Env, _ *awsclients.Clients, _ *slog.Logger) (*steps, error) {
		return &steps{prefix: env.Get("UNDECLARED")}, nil
	}
	if _, err := build(t.Context(), sneaky, getenv(map[string]string{"PREFIX": "p", "TOPIC_ARN": "a", "UNDECLARED": "x"}), log); err == nil || !strings.Contains(err.Error(), "UNDECLARED") {
		t.Errorf("error %v, want the undeclared setting named", err)
	}
}

// Every task of every workflow: without settings it refuses to start naming each required one;
// with exactly its declared settings it starts.
func TestEveryTaskStartsOnItsSettingsAlone(t *testing.T) {
	awsEnv(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	var specs []boundary.Spec
	var starts []func(map[string]string) error
	add := func(ss []boundary.Spec, start func(i int, env map[string]string) error) {
		for i, s := range ss {
			specs = append(specs, s)
			starts = append(starts, func(env map[string]string) error { return start(i, env) })
		}
	}
	add(boundary.Specs(backup.Tasks), func(i int, env map[string]string) error {
		_, err := build(t.Context(), backup.Tasks[i], getenv(env), log)
		return err
	})
	add(boundary.Specs(failback.Tasks), func(i int, env map[string]string) error {
		_, err := build(t.Context(), failback.Tasks[i], getenv(env), log)
		return err
	})
	add(boundary.Specs(replication.Tasks), func(i int, env map[string]string) error {
		_, err := build(t.Context(), replication.Tasks[i], getenv(env), log)
		return err
	})
	values := map[string]string{
		"TOPIC_ARN": "arn:aws:sns:ap-northeast-3:123456789012:t", "IMPORT_LOGS_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
		"RETRY_BUCKET": "b", "RETRY_REGION": "ap-northeast-1", "APPROVAL_BUCKET": "b", "BASE_URL": "https://example.com/approvals",
		"APPROVAL_SIGNING_KEY": strings.Repeat("k", 64),
	}
	for i, s := range specs {
		t.Run(s.Name, func(t *testing.T) {
			var required []string
			env := map[string]string{}
			for _, st := range s.Settings {
				if !st.Optional {
					required = append(required, st.Name)
				}
				if v, ok := values[st.Name]; ok {
					env[st.Name] = v
				}
			}
			err := starts[i](map[string]string{})
			if len(required) == 0 {
				if err != nil {
					t.Errorf("a task without required settings refused to start: %v", err)
				}
			} else if err == nil {
				t.Errorf("started without its settings %v", required)
			} else {
				for _, r := range required {
					if !strings.Contains(err.Error(), r) {
						t.Errorf("error %q does not name %s", err, r)
					}
				}
			}
			if err := starts[i](env); err != nil {
				t.Errorf("with its declared settings %v: %v", slices.Sorted(func(yield func(string) bool) {
					for k := range env {
						if !yield(k) {
							return
						}
					}
				}), err)
			}
		})
	}
}

// TestMainFailsAtStartNamingTheSetting runs a real task binary as Lambda would, without its
// setting: it exits before serving, with one JSON log line naming what is missing.
func TestMainFailsAtStartNamingTheSetting(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a task binary")
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if out, err := exec.Command("go", "build", "-o", bin, "../../tasks/upload-import").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_REGION=ap-northeast-3", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_LAMBDA_LOG_FORMAT=JSON", "HOME=" + os.Getenv("HOME")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d (%v), want 1; stderr %s", code, err, stderr.String())
	}
	var line map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &line); err != nil {
		t.Fatalf("log is not one JSON line: %q", stdout.String())
	}
	if line["level"] != "ERROR" || line["message"] != "task cannot start" || line["task"] != "upload-import" || !strings.Contains(line["error"].(string), "IMPORT_LOGS_ROLE_ARN") {
		t.Errorf("log line %v, want an ERROR naming IMPORT_LOGS_ROLE_ARN", line)
	}
}

// Lambda's log lines carry the invocation's request id, are JSON when the function's log format
// is, and obey the function's application log level. The logger reads both settings when the
// process starts, so the check runs in a child process started as Lambda would.
func TestLoggerCarriesRequestIDAndLevel(t *testing.T) {
	if os.Getenv("LAMBDAMAIN_LOG_CHILD") == "1" {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
		log := Logger()
		log.InfoContext(ctx, "below the level")
		log.WarnContext(ctx, "at the level", slog.String("task", "t"))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoggerCarriesRequestIDAndLevel$")
	cmd.Env = append(os.Environ(), "LAMBDAMAIN_LOG_CHILD=1", "AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=WARN")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	var lines []map[string]any
	for l := range strings.Lines(string(out)) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			lines = append(lines, m)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("JSON lines %v, want only the WARN one:\n%s", lines, out)
	}
	if l := lines[0]; l["requestId"] != "req-1" || l["level"] != "WARN" || l["message"] != "at the level" || l["task"] != "t" {
		t.Errorf("log line %v, want requestId req-1 at WARN", l)
	}
}

package boundary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
)

// Setting is one environment variable a Lambda reads at start-up.
type Setting struct {
	Name string
	// Optional settings may be unset; a task does not start without every required one.
	Optional bool
}

// Env is the environment as a task's configuration sees it: only the settings the task
// declares. Reading one it does not declare is an error of the task's definition, reported at
// start-up, because the CDK stacks give each function exactly its declared settings.
type Env struct {
	getenv     func(string) string
	declared   map[string]bool
	undeclared []string
}

// NewEnv is getenv limited to settings.
func NewEnv(getenv func(string) string, settings []Setting) *Env {
	e := &Env{getenv: getenv, declared: map[string]bool{}}
	for _, s := range settings {
		e.declared[s.Name] = true
	}
	return e
}

// Get returns the value of a declared setting ("" when unset).
func (e *Env) Get(name string) string {
	if !e.declared[name] {
		if !slices.Contains(e.undeclared, name) {
			e.undeclared = append(e.undeclared, name)
		}
		return ""
	}
	return e.getenv(name)
}

// Declares reports whether the task declares the setting: a Load shared by several tasks reads
// only what each declares.
func (e *Env) Declares(name string) bool { return e.declared[name] }

// Missing names every required setting that is unset.
func Missing(getenv func(string) string, settings []Setting) []string {
	var missing []string
	for _, s := range settings {
		if !s.Optional && getenv(s.Name) == "" {
			missing = append(missing, s.Name)
		}
	}
	return missing
}

// Spec is what the ASL lint and the CDK stacks read of a task, whatever its types.
type Spec struct {
	// Name is the task's directory under tasks/, its function's name suffix and its "task" in logs.
	Name string
	// Placeholder is the ASL ${Placeholder} its function's ARN replaces; empty for a trigger.
	Placeholder string
	// Input and Output are the Go types of the JSON the task reads and answers.
	Input, Output reflect.Type
	// Settings are exactly the environment variables the task reads.
	Settings []Setting
}

// Def is a task of a workflow whose steps are S, whatever its input and output: what the local
// executor binds and what tests start.
type Def[S any] interface {
	Spec() Spec
	// Bind is the task's handler on steps s (the local executor shares one s among all tasks).
	Bind(s S, log *slog.Logger) Func
	// Start is the task's handler as its Lambda builds it: its settings read from getenv and
	// validated, steps built on clients. The error names every missing or malformed setting.
	Start(ctx context.Context, getenv func(string) string, clients *awsclients.Clients, log *slog.Logger) (Func, error)
}

// Task is one Lambda of a state machine, typed: the placeholder its function's ARN replaces in
// the ASL, the settings it reads, how its steps are built from them, and the step it runs. The
// Lambda main starts it (lambdamain.Start), the local executor binds it to shared steps, the ASL
// lint compares In with the state's Parameters, and the CDK stacks give its function exactly its
// settings.
type Task[S, In, Out any] struct {
	Name        string
	Placeholder string
	Settings    []Setting
	// Load builds the steps from the task's settings (env answers only declared ones; required
	// ones are checked before Load runs) and AWS clients. It may call AWS: a task fails at start,
	// not at its first use, when what it needs is missing.
	Load func(ctx context.Context, env *Env, clients *awsclients.Clients, log *slog.Logger) (S, error)
	// Step runs the task: a method expression such as (*backup.Steps).Export.
	Step func(S, context.Context, In) (Out, error)
}

// Spec describes t.
func (t Task[S, In, Out]) Spec() Spec {
	return Spec{Name: t.Name, Placeholder: t.Placeholder, Input: reflect.TypeFor[In](), Output: reflect.TypeFor[Out](), Settings: t.Settings}
}

// Bind is t's handler on s.
func (t Task[S, In, Out]) Bind(s S, log *slog.Logger) Func {
	return Handler(t.Name, func(ctx context.Context, in In) (Out, error) { return t.Step(s, ctx, in) }, log)
}

// Start reads and validates t's settings, builds its steps and returns its handler.
func (t Task[S, In, Out]) Start(ctx context.Context, getenv func(string) string, clients *awsclients.Clients, log *slog.Logger) (Func, error) {
	s, err := t.load(ctx, getenv, clients, log)
	if err != nil {
		return nil, err
	}
	return t.Bind(s, log), nil
}

func (t Task[S, In, Out]) load(ctx context.Context, getenv func(string) string, clients *awsclients.Clients, log *slog.Logger) (S, error) {
	var zero S
	if missing := Missing(getenv, t.Settings); len(missing) > 0 {
		return zero, fmt.Errorf("task %s: not set: %s", t.Name, strings.Join(missing, ", "))
	}
	env := NewEnv(getenv, t.Settings)
	s, err := t.Load(ctx, env, clients, log)
	if len(env.undeclared) > 0 {
		err = errors.Join(err, fmt.Errorf("reads settings it does not declare: %s", strings.Join(env.undeclared, ", ")))
	}
	if err != nil {
		return zero, fmt.Errorf("task %s: %w", t.Name, err)
	}
	return s, nil
}

// Bind binds every task to s, keyed by placeholder: the handler table of a workflow's ASL.
func Bind[S any](tasks []Def[S], s S, log *slog.Logger) map[string]Func {
	m := make(map[string]Func, len(tasks))
	for _, t := range tasks {
		m[t.Spec().Placeholder] = t.Bind(s, log)
	}
	return m
}

// Specs describes every task.
func Specs[S any](tasks []Def[S]) []Spec {
	specs := make([]Spec, len(tasks))
	for i, t := range tasks {
		specs[i] = t.Spec()
	}
	return specs
}

// Trigger is a Cognito trigger's Lambda. Unlike a task it never refuses to start: a trigger
// that fails fails a user's sign-up or sign-in, so a trigger with bad settings or unreachable
// AWS still answers Cognito (with the event unchanged) and says why in its log.
type Trigger struct {
	// Name is the trigger's directory under tasks/ and its "task" in logs.
	Name string
	// Settings are exactly the environment variables the trigger reads.
	Settings []Setting
	// Handler builds the handler. env answers only declared settings; clients loads the AWS
	// clients (it may fail: the handler tries again at its next invocation).
	Handler func(env func(string) string, clients func(context.Context) (*awsclients.Clients, error), log *slog.Logger) Func
}

// Spec describes t; a trigger has no placeholder and its input is Cognito's event.
func (t Trigger) Spec() Spec { return Spec{Name: t.Name, Settings: t.Settings} }

// Start is t's handler as its Lambda builds it.
func (t Trigger) Start(getenv func(string) string, clients func(context.Context) (*awsclients.Clients, error), log *slog.Logger) Func {
	return t.Handler(NewEnv(getenv, t.Settings).Get, clients, log)
}

// Retrying holds a value whose loading may fail for a while (a setting, a secret, an SDK call
// at start-up): a failure is returned and loading is tried again at the next Get; only a
// success is kept. Unlike sync.Once, a transient error is not kept for the container's life.
type Retrying[T any] struct {
	load func(context.Context) (T, error)
	mu   sync.Mutex
	v    T
	ok   bool
}

// NewRetrying returns a Retrying that loads with load.
func NewRetrying[T any](load func(context.Context) (T, error)) *Retrying[T] {
	return &Retrying[T]{load: load}
}

// Get returns the loaded value, loading it if no load has succeeded yet. On failure it returns
// load's value with the error, so a caller can use what was loaded in part.
func (r *Retrying[T]) Get(ctx context.Context) (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ok {
		return r.v, nil
	}
	v, err := r.load(ctx)
	if err != nil {
		return v, err
	}
	r.v, r.ok = v, true
	return v, nil
}

// Optional declares settings a task may read and does not need.
func Optional(names ...string) []Setting {
	s := make([]Setting, len(names))
	for i, n := range names {
		s[i] = Setting{Name: n, Optional: true}
	}
	return s
}

// Declared is Get for a task that may or may not declare a group of settings (the quota
// overrides, say): an undeclared setting reads as unset and is not reported.
func (e *Env) Declared(name string) string {
	if !e.declared[name] {
		return ""
	}
	return e.getenv(name)
}

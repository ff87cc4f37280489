// Package boundary is the one place where a workflow step meets its caller: the Lambda runtime in
// production and the local Step Functions executor in tests and the demo. Both call the same
// function, so what runs locally is what runs in AWS: strict JSON decoding, errors reported by
// their stable type names, and one log line per invocation.
package boundary

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Func is a task as Step Functions invokes it: JSON in, JSON out.
type Func func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// Handler adapts a step to a Func. The input is decoded strictly: an unknown or misspelt field is an
// InvalidInput error naming it, never silently dropped. Errors leave through stateerr.Named, so a
// Catch or Retry sees one of the closed set of names (stateerr.Names): the step's own, Transient,
// or TaskFailed.
func Handler[In, Out any](task string, step func(context.Context, In) (Out, error), log *slog.Logger) Func {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		start := time.Now()
		out, err := invoke(ctx, step, payload)
		attrs := []any{slog.String("task", task), slog.Duration("elapsed", time.Since(start))}
		if err != nil {
			err = stateerr.Named(err)
			log.ErrorContext(ctx, "task failed", append(attrs, slog.String("error_type", TypeName(err)), slog.String("error", err.Error()))...)
			return nil, err
		}
		log.InfoContext(ctx, "task done", attrs...)
		return out, nil
	}
}

func invoke[In, Out any](ctx context.Context, step func(context.Context, In) (Out, error), payload json.RawMessage) (_ json.RawMessage, err error) {
	// A panic would reach Step Functions under the panic value's type name (runtime.Error's
	// "boundsError", a string's "string"): outside the closed set. It fails the task as
	// TaskFailed instead; the step holds no state between invocations worth the container.
	defer func() {
		if p := recover(); p != nil {
			err = &stateerr.TaskFailed{Msg: fmt.Sprintf("panic: %v", p)}
		}
	}()
	var in In
	if err := DecodeStrict(payload, &in); err != nil {
		return nil, err
	}
	out, err := step(ctx, in)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// DecodeStrict decodes one JSON value into v, refusing unknown fields, keys not spelled exactly as
// a field's json name (encoding/json alone would take "MirrorDeletes" for "mirrorDeletes") and
// trailing data, and reports problems as InvalidInput.
func DecodeStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return stateerr.Invalid("input is empty: expected a JSON object")
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err == nil {
		if path, ok := exactKeys(generic, reflect.TypeOf(v), ""); !ok {
			key := path[strings.LastIndex(path, ".")+1:]
			return stateerr.Invalid("input is not valid: unknown field %q at %s (field names are case-sensitive)", key, path)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return stateerr.Invalid("input is not valid: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return stateerr.Invalid("input is not valid: unexpected data after the JSON object")
	}
	return nil
}

// TypeName is the error name the Go Lambda runtime reports for err: its type name, pointer
// dereferenced (so fmt.Errorf gives "wrapError").
func TypeName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

package boundary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

type echoIn struct {
	Pool string `json:"pool"`
}

type echoOut struct {
	Upper string `json:"upper"`
}

func echo(_ context.Context, in echoIn) (echoOut, error) {
	switch in.Pool {
	case "missing":
		return echoOut{}, fmt.Errorf("describe %s: %w", in.Pool, &stateerr.PoolNotFound{Msg: "no such pool"})
	case "plain":
		return echoOut{}, errors.New("boom")
	case "crash":
		var m map[string]int
		m["x"]++ // a nil map write panics
	case "late":
		return echoOut{}, fmt.Errorf("list users in %s: %w", in.Pool, context.DeadlineExceeded)
	}
	return echoOut{Upper: strings.ToUpper(in.Pool)}, nil
}

func TestHandler(t *testing.T) {
	h := Handler("echo", echo, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	tests := []struct {
		name      string
		payload   string
		wantOut   string
		wantType  string
		wantInMsg string
	}{
		{name: "ok", payload: `{"pool":"tokyo"}`, wantOut: `{"upper":"TOKYO"}`},
		{name: "unknown field", payload: `{"pool":"tokyo","pooll":"x"}`, wantType: "InvalidInput", wantInMsg: `unknown field "pooll"`},
		{name: "trailing data", payload: `{"pool":"tokyo"} {}`, wantType: "InvalidInput", wantInMsg: "after the JSON object"},
		{name: "empty", payload: ``, wantType: "InvalidInput", wantInMsg: "empty"},
		{name: "named error keeps context", payload: `{"pool":"missing"}`, wantType: "PoolNotFound", wantInMsg: "describe missing: no such pool"},
		{name: "plain error is TaskFailed, not errorString", payload: `{"pool":"plain"}`, wantType: "TaskFailed", wantInMsg: "boom"},
		{name: "deadline is Transient, not wrapError", payload: `{"pool":"late"}`, wantType: "Transient", wantInMsg: "list users in late"},
		{name: "panic is TaskFailed", payload: `{"pool":"crash"}`, wantType: "TaskFailed", wantInMsg: "panic: assignment to entry in nil map"},
		{name: "key in another case", payload: `{"Pool":"tokyo"}`, wantType: "InvalidInput", wantInMsg: `unknown field "Pool"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := h(context.Background(), json.RawMessage(tt.payload))
			if tt.wantType == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if string(out) != tt.wantOut {
					t.Errorf("out = %s, want %s", out, tt.wantOut)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %s error, got output %s", tt.wantType, out)
			}
			if got := TypeName(err); got != tt.wantType {
				t.Errorf("error type = %s, want %s", got, tt.wantType)
			}
			if !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantInMsg)
			}
		})
	}
}

package poolmode_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

func TestPairTogether(t *testing.T) {
	read := func(m poolmode.Mode) poolmode.Reading {
		return poolmode.Reading{State: poolmode.State{Mode: m, Since: time.Unix(0, 0)}}
	}
	down := poolmode.Reading{Err: errors.New("timeout")}
	unset := poolmode.Reading{Err: fmt.Errorf("read: %w", poolmode.ErrNotSet)}
	for _, c := range []struct {
		name       string
		pair       poolmode.Pair
		together   poolmode.Together
		noneActive bool
	}{
		{"as deployed", poolmode.Pair{Primary: read(poolmode.Active), DR: read(poolmode.Fenced)}, poolmode.OneActive, false},
		{"failed over", poolmode.Pair{Primary: read(poolmode.Fenced), DR: read(poolmode.Active)}, poolmode.OneActive, false},
		{"active/active", poolmode.Pair{Primary: read(poolmode.Active), DR: read(poolmode.Active)}, poolmode.BothActive, false},
		{"fenced/fenced", poolmode.Pair{Primary: read(poolmode.Fenced), DR: read(poolmode.Fenced)}, poolmode.BothFenced, true},
		{"primary down, DR fenced", poolmode.Pair{Primary: down, DR: read(poolmode.Fenced)}, poolmode.Unknown, true},
		{"primary down, DR active", poolmode.Pair{Primary: down, DR: read(poolmode.Active)}, poolmode.Unknown, false},
		{"DR unset, primary active", poolmode.Pair{Primary: read(poolmode.Active), DR: unset}, poolmode.Unknown, false},
		{"neither readable", poolmode.Pair{Primary: down, DR: unset}, poolmode.Unknown, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.pair.Together(); got != c.together {
				t.Errorf("Together = %s, want %s", got, c.together)
			}
			if got := c.pair.NoneActive(); got != c.noneActive {
				t.Errorf("NoneActive = %t, want %t", got, c.noneActive)
			}
		})
	}
}

package export

import (
	"fmt"
	"strconv"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
)

// BudgetSetting is the setting of every task that loops a resumable export (the backup's
// ExportUsers, the reconcile's ExportBefore and ExportAfter): how long one invocation works
// before it saves its checkpoint and returns.
const BudgetSetting = "EXPORT_BUDGET_SECONDS"

// ParseBudget reads BudgetSetting: whole seconds from 10 to 840, well under the 900 s a Lambda
// may run, which must also hold the invocation's start and its last save. "" is 0: the default.
func ParseBudget(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs < 10 || secs > 840 {
		return 0, fmt.Errorf("%s=%q must be a whole number of seconds from 10 to 840 (a Lambda runs at most 900)", BudgetSetting, v)
	}
	return time.Duration(secs) * time.Second, nil
}

// StartBudget starts the budget of one invocation: override's (tests cut invocations with one)
// if set, else a Timer of d, or of checkpoint.DefaultBudget when d is 0. It returns the budget's
// length (ShardUsers sizes shards by it) and a stop to call when the invocation ends.
func StartBudget(d time.Duration, override func() checkpoint.Budget) (b checkpoint.Budget, length time.Duration, stop func()) {
	if d <= 0 {
		d = checkpoint.DefaultBudget
	}
	if override != nil {
		return override(), d, func() {}
	}
	t := checkpoint.NewTimer(d)
	return t, d, t.Stop
}

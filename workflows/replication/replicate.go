package replication

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Results of the replicate trigger.
const (
	ResultCreated = "created"
	ResultUpdated = "updated"
	// ResultQueued: the DR pool failed or was slow; the user is in the retry store.
	ResultQueued = "queued-for-retry"
	// ResultNotQueued: the retry store failed too; the next reconcile still finds the user.
	ResultNotQueued = "not-queued"
)

// Outcome is what the replicate trigger did for one user: what its log line says.
type Outcome struct {
	Result string
	// Dropped names the user's attributes the DR pool does not define (names only).
	Dropped []string
	// Err is why the copy failed; it names no user.
	Err error
}

// replicateOps are the calls the replicate trigger makes on the DR pool.
var replicateOps = quota.MustOps(copyOps...)

// DefaultDRBudget bounds the trigger's DR work: Cognito waits 5 s for a trigger, and the
// cold start, the retry record and the response need the rest.
const DefaultDRBudget = 2500 * time.Millisecond

// DefaultRetryBudget bounds recording a failed copy in the retry store.
const DefaultRetryBudget = time.Second

// Replicate is the primary pool's PostConfirmation trigger: it copies the confirmed user to the
// DR pool and returns the event unchanged. It never fails: a trigger error would fail the user's
// sign-up in the primary Region because of a problem in the DR Region. On any DR-side failure,
// or when the DR pool does not answer within DRBudget, the user goes to the retry store, which
// reconcile empties.
func (s *Steps) Replicate(ctx context.Context, ev events.CognitoEventUserPoolsPostConfirmation) (events.CognitoEventUserPoolsPostConfirmation, error) {
	s.ReplicateUser(ctx, ev)
	return ev, nil
}

// ReplicateUser is Replicate with its outcome, for the trigger's log line.
func (s *Steps) ReplicateUser(ctx context.Context, ev events.CognitoEventUserPoolsPostConfirmation) Outcome {
	var o Outcome
	budget := s.DRBudget
	if budget <= 0 {
		budget = DefaultDRBudget
	}
	drCtx, cancel := context.WithTimeout(ctx, budget)
	created, err := s.copyUser(drCtx, ev, &o)
	cancel()
	if err == nil {
		o.Result = ResultUpdated
		if created {
			o.Result = ResultCreated
		}
		return o
	}
	o.Err = err
	retryBudget := s.RetryBudget
	if retryBudget <= 0 {
		retryBudget = DefaultRetryBudget
	}
	// The DR context may have expired: recording gets its own short deadline.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), retryBudget)
	defer cancel()
	p := Pending{PrimaryUserPoolID: ev.UserPoolID, Sub: ev.Request.UserAttributes["sub"], RecordedAt: s.now().UTC(), Reason: err.Error()}
	if p.Sub == "" || s.Retry == nil {
		o.Result, o.Err = ResultNotQueued, errors.Join(err, errors.New("cannot record the user for retry: no sub in the event or no retry store"))
		return o
	}
	if rerr := s.Retry.Record(rctx, p); rerr != nil {
		o.Result, o.Err = ResultNotQueued, errors.Join(err, rerr)
		return o
	}
	o.Result = ResultQueued
	return o
}

func (s *Steps) copyUser(ctx context.Context, ev events.CognitoEventUserPoolsPostConfirmation, o *Outcome) (bool, error) {
	dr := s.Cognito(s.DRRegion)
	// One warm container may copy many users in a row: they share the DR Region's pacers.
	pace := s.Quota.Pacer(s.DRRegion, replicateOps)
	since := s.now()
	info, err := s.drPool.get(ctx, dr, s.DRUserPoolID, pace)
	if err != nil {
		return false, err
	}
	attrs := ev.Request.UserAttributes
	sub := attrs["sub"]
	create, dropped := info.drAttributes(attrs, sub, true)
	update, _ := info.drAttributes(attrs, sub, false)
	o.Dropped = dropped
	return upsert(ctx, dr, s.DRUserPoolID, info.username(attrs, ev.UserName), create, update, pace, since)
}

// ReplicateTrigger adapts Replicate to a Lambda invocation. Unlike the state machine tasks it
// decodes leniently (Cognito adds fields to trigger events; an unknown field must never fail a
// sign-up), answers with the event exactly as received, and never returns an error. It logs one
// line: the result, the time taken, the error, and no user data.
func ReplicateTrigger(s *Steps, log *slog.Logger) boundary.Func {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		start := time.Now()
		var ev events.CognitoEventUserPoolsPostConfirmation
		if err := json.Unmarshal(payload, &ev); err != nil {
			log.ErrorContext(ctx, "trigger event not understood; sign-up goes on, reconcile will copy the user", slog.String("task", "replicate"), slog.String("error", err.Error()))
			return payload, nil
		}
		o := s.ReplicateUser(ctx, ev)
		attrs := []any{slog.String("task", "replicate"), slog.String("trigger_source", ev.TriggerSource), slog.String("user_pool", ev.UserPoolID),
			slog.String("result", o.Result), slog.Duration("elapsed", time.Since(start))}
		if len(o.Dropped) > 0 {
			attrs = append(attrs, slog.Any("attributes_not_in_dr_pool", o.Dropped))
		}
		switch o.Result {
		case ResultQueued:
			log.WarnContext(ctx, "DR copy failed; user queued for reconcile", append(attrs, slog.String("error", o.Err.Error()))...)
		case ResultNotQueued:
			log.ErrorContext(ctx, "DR copy failed and could not be queued; the next reconcile finds the user", append(attrs, slog.String("error", o.Err.Error()))...)
		default:
			log.InfoContext(ctx, "user copied to the DR pool", attrs...)
		}
		return payload, nil
	}
}

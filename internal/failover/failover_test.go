package failover_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

// regionSSM is one Region's Parameter Store: values by name, and a Region that does not answer
// (calls wait for the caller's deadline) while down says so.
type regionSSM struct {
	mu     sync.Mutex
	values map[string]string
	down   func() bool
	puts   int
}

func (r *regionSSM) wait(ctx context.Context) error {
	if r.down != nil && r.down() {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (r *regionSSM) GetParameter(ctx context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if err := r.wait(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.values[aws.ToString(in.Name)]
	if !ok {
		return nil, &ssmtypes.ParameterNotFound{}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v)}}, nil
}

func (r *regionSSM) PutParameter(ctx context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	if err := r.wait(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values[aws.ToString(in.Name)] = aws.ToString(in.Value)
	r.puts++
	return &ssm.PutParameterOutput{}, nil
}

// noSchedule answers every schedule as missing.
type noSchedule struct{}

func (noSchedule) GetSchedule(context.Context, *scheduler.GetScheduleInput, ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	return nil, &schedtypes.ResourceNotFoundException{}
}

func (noSchedule) UpdateSchedule(context.Context, *scheduler.UpdateScheduleInput, ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	return nil, errors.New("UpdateSchedule of a missing schedule")
}

var cfg = failover.Config{
	PrimaryPool: "ap-northeast-1_P", PrimaryRegion: "ap-northeast-1", DRPool: "ap-northeast-3_D", DRRegion: "ap-northeast-3",
	Message: "go to Osaka", ScheduleName: failover.DefaultScheduleName,
	FenceTimeout: time.Minute, CallTimeout: 2 * time.Second, RetryInterval: 5 * time.Second,
}

func newFailover(primary, dr *regionSSM) *failover.Failover {
	return &failover.Failover{
		SSM: func(region string) poolmode.SSM {
			if region == cfg.PrimaryRegion {
				return primary
			}
			return dr
		},
		Scheduler: func(string) failover.Scheduler { return noSchedule{} },
	}
}

// TestFenceRetriedUntilThePrimaryAnswers: the primary's Region comes back 20 s into the failover;
// the DR pool is active from the start and the primary is fenced on the attempt after it returns.
func TestFenceRetriedUntilThePrimaryAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		primary := &regionSSM{values: map[string]string{}, down: func() bool { return time.Since(start) < 20*time.Second }}
		dr := &regionSSM{values: map[string]string{}}
		r, err := newFailover(primary, dr).Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r.Primary.Action != failover.Fenced || r.DR.Action != failover.Activated || len(r.Findings) != 0 {
			t.Errorf("primary %s, DR %s, findings %q", r.Primary.Action, r.DR.Action, r.Findings)
		}
		// Attempts at 0 s, 7 s, 14 s fail (2 s each, then 5 s apart); 21 s succeeds.
		if r.Primary.Attempts != 4 || time.Since(start) > 30*time.Second {
			t.Errorf("fenced after %d attempts in %s", r.Primary.Attempts, time.Since(start))
		}
		if s := r.Primary.State; s == nil || s.Mode != poolmode.Fenced || s.Message != "go to Osaka" || !s.Since.Equal(r.FailoverTime) {
			t.Errorf("primary read back %+v", s)
		}
		if r.Schedule.Action != failover.NotFound || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "not found") {
			t.Errorf("schedule %s, notes %q", r.Schedule.Action, r.Notes)
		}
	})
}

// TestDRDownChangesNothing: a DR pool whose Region does not answer is never failed over to, and
// the primary is left serving.
func TestDRDownChangesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		primary := &regionSSM{values: map[string]string{}}
		dr := &regionSSM{values: map[string]string{}, down: func() bool { return true }}
		_, err := newFailover(primary, dr).Run(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("failover to an unreachable DR pool: %v", err)
		}
		if primary.puts != 0 {
			t.Errorf("%d writes to the primary, want none", primary.puts)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	err := failover.Config{PrimaryPool: "p", PrimaryRegion: "r", DRPool: "p", DRRegion: "r"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "same pool") {
		t.Errorf("same pool twice: %v", err)
	}
	if err := (failover.Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "no DR Region") {
		t.Errorf("empty config: %v", err)
	}
}

package failover_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
)

// TestWatchModes: every combination of the two modes, as the mode watch publishes it. The
// alarms' rules: NoActivePool (no pool serves: both fenced, or the only readable one fenced) and
// BothActive; the passive pool being fenced is normal and raises nothing.
func TestWatchModes(t *testing.T) {
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	fencedAt := now.Add(-10 * time.Minute)
	i := 0
	for _, c := range []struct {
		name            string
		primary, dr     poolmode.Mode // "" leaves the parameter unset
		primaryDown     bool
		together        poolmode.Together
		noActive, bothA float64
		bothF, peerDown float64
		primaryFencedS  float64
		drFencedS       float64
	}{
		{"as deployed", poolmode.Active, poolmode.Fenced, false, poolmode.OneActive, 0, 0, 0, 0, 0, 600},
		{"failed over", poolmode.Fenced, poolmode.Active, false, poolmode.OneActive, 0, 0, 0, 0, 600, 0},
		{"active/active", poolmode.Active, poolmode.Active, false, poolmode.BothActive, 0, 1, 0, 0, 0, 0},
		{"fenced/fenced", poolmode.Fenced, poolmode.Fenced, false, poolmode.BothFenced, 1, 0, 1, 0, 600, 600},
		{"primary down, DR fenced", poolmode.Active, poolmode.Fenced, true, poolmode.Unknown, 1, 0, 0, 1, 0, 600},
		{"primary down, DR active", poolmode.Active, poolmode.Active, true, poolmode.Unknown, 0, 0, 0, 1, 0, 0},
		{"primary mode not set", "", poolmode.Fenced, false, poolmode.Unknown, 1, 0, 0, 0, 0, 600},
	} {
		// Fresh pool ids per case: the stack's Parameter Store is shared.
		i++
		p := devstack.GatePool{ID: fmt.Sprintf("%s_Case%d", primary.Region, i), Region: primary.Region}
		d := devstack.GatePool{ID: fmt.Sprintf("%s_Case%d", dr.Region, i), Region: dr.Region}
		t.Run(c.name, func(t *testing.T) {
			for _, x := range []struct {
				pool devstack.GatePool
				mode poolmode.Mode
			}{{p, c.primary}, {d, c.dr}} {
				if x.mode == "" {
					continue
				}
				param := poolmode.Parameter{Client: st.Clients.SSM(x.pool.Region), Name: poolmode.ParameterName(x.pool.ID)}
				if err := param.Set(t.Context(), poolmode.State{Mode: x.mode, Since: fencedAt, Cause: poolmode.CauseFailover}); err != nil {
					t.Fatal(err)
				}
			}
			st.SSM.SetUnreachable(p.Region, c.primaryDown)
			defer st.SSM.SetUnreachable(p.Region, false)
			var metrics bytes.Buffer
			steps := failover.NewSteps(st.Clients, "")
			steps.Failover.Now = func() time.Time { return now }
			// An unreachable Region costs this in real time; the reachable one must answer within
			// it on a loaded machine too (half a second, not 200 ms, else it may count as unreachable).
			steps.Watch.PeerTimeout = 500 * time.Millisecond
			steps.Metrics = &metrics
			res, err := steps.WatchModes(t.Context(), failover.WatchInput{PrimaryUserPoolID: p.ID, PrimaryRegion: p.Region, DRUserPoolID: d.ID, DRRegion: d.Region})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{
				failover.MetricNoActivePool: c.noActive, failover.MetricBothActive: c.bothA, failover.MetricBothFenced: c.bothF,
				failover.MetricPeerUnreachable: c.peerDown, failover.MetricPrimaryFencedSeconds: c.primaryFencedS, failover.MetricDrFencedSeconds: c.drFencedS,
			}
			if res.Together != c.together {
				t.Errorf("together %s, want %s", res.Together, c.together)
			}
			if diff := cmp.Diff(want, res.Metrics); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}
			// The same values reach CloudWatch: one EMF document with the pools as dimensions.
			var doc map[string]any
			if err := json.Unmarshal(metrics.Bytes(), &doc); err != nil {
				t.Fatalf("EMF line: %v\n%s", err, metrics.String())
			}
			for name, v := range want {
				if doc[name] != v {
					t.Errorf("EMF %s = %v, want %v", name, doc[name], v)
				}
			}
			aws, _ := doc["_aws"].(map[string]any)
			cw, _ := aws["CloudWatchMetrics"].([]any)
			if len(cw) != 1 || doc["PrimaryUserPoolId"] != p.ID || doc["DrUserPoolId"] != d.ID || cw[0].(map[string]any)["Namespace"] != failover.MetricsNamespace {
				t.Errorf("EMF document %s", metrics.String())
			}
		})
	}
}

// TestWatchRefusesBadInput: a schedule whose input names no pools fails loudly (InvalidInput).
func TestWatchRefusesBadInput(t *testing.T) {
	steps := failover.NewSteps(nil, "")
	_, err := steps.WatchModes(t.Context(), failover.WatchInput{PrimaryUserPoolID: "p", PrimaryRegion: "ap-northeast-1"})
	if _, ok := errors.AsType[*stateerr.InvalidInput](err); !ok || !strings.Contains(err.Error(), "no DR pool") {
		t.Errorf("a watch without the DR pool: %v, want InvalidInput naming it", err)
	}
}

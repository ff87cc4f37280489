package failover

import (
	"context"
	"errors"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/emf"
	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// MetricsNamespace is the CloudWatch namespace of the mode watch's metrics; the stack alarms on
// them (the namespace every Cognito DR metric shares).
const MetricsNamespace = "CognitoDR"

// The mode watch's metrics, one value per run (every minute), with the dimensions
// PrimaryUserPoolId and DrUserPoolId.
const (
	// MetricNoActivePool is 1 when no pool reads active: both fenced, or the pool that could be
	// read is fenced. The passive pool is fenced by design; this is about the serving side.
	MetricNoActivePool = "NoActivePool"
	// MetricBothActive is 1 when both pools read active: writes land in both.
	MetricBothActive = "BothActive"
	// MetricBothFenced is 1 when both pools read fenced (also counted by NoActivePool).
	MetricBothFenced = "BothFenced"
	// MetricPeerUnreachable is 1 when the primary's mode could not be read from the DR Region
	// within WatchPeerTimeout.
	MetricPeerUnreachable = "PeerUnreachable"
	// MetricPrimaryFencedSeconds and MetricDrFencedSeconds are how long each pool has been
	// fenced (0 when active or unread).
	MetricPrimaryFencedSeconds = "PrimaryFencedSeconds"
	MetricDrFencedSeconds      = "DrFencedSeconds"
)

// WatchPeerTimeout bounds reading the primary's mode across Regions: a Region that does not
// answer this fast counts as unreachable for this run.
const WatchPeerTimeout = 2 * time.Second

// WatchInput is the mode watch's input, which its schedule sends: the pools to read.
type WatchInput struct {
	PrimaryUserPoolID string `json:"primaryUserPoolId"`
	PrimaryRegion     string `json:"primaryRegion"`
	DRUserPoolID      string `json:"drUserPoolId"`
	DRRegion          string `json:"drRegion"`
}

// WatchResult is what one run read and published.
type WatchResult struct {
	Together poolmode.Together `json:"together"`
	Primary  string            `json:"primary"`
	DR       string            `json:"dr"`
	// Metrics are the values published, by name.
	Metrics map[string]float64 `json:"metrics"`
}

// WatchConfig tunes the mode watch.
type WatchConfig struct {
	// PeerTimeout bounds reading the primary's mode; zero means WatchPeerTimeout. The DR pool's
	// own mode is read within the same bound.
	PeerTimeout time.Duration
}

// WatchModes reads both pools' modes with the rule readiness's pool-modes check applies
// (poolmode.Pair) and publishes them as metrics. It fails only on a bad input: a mode it cannot
// read is itself what the metrics report.
func (s *Steps) WatchModes(ctx context.Context, in WatchInput) (WatchResult, error) {
	cfg := watchConfig(in)
	if err := cfg.Validate(); err != nil {
		return WatchResult{}, stateerr.Invalid("mode watch input: %v", err)
	}
	timeout := s.Watch.PeerTimeout
	if timeout <= 0 {
		timeout = WatchPeerTimeout
	}
	primary, dr := s.Failover.Parameters(cfg)
	pair := poolmode.ReadPair(ctx, primary, dr, timeout)
	now := s.now()
	bit := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	fencedFor := func(r poolmode.Reading) float64 {
		if !r.Is(poolmode.Fenced) {
			return 0
		}
		return max(0, now.Sub(r.State.Since).Seconds())
	}
	together := pair.Together()
	res := WatchResult{Together: together, Primary: describe(pair.Primary), DR: describe(pair.DR), Metrics: map[string]float64{
		MetricNoActivePool:         bit(pair.NoneActive()),
		MetricBothActive:           bit(together == poolmode.BothActive),
		MetricBothFenced:           bit(together == poolmode.BothFenced),
		MetricPeerUnreachable:      bit(pair.Primary.Err != nil && !errors.Is(pair.Primary.Err, poolmode.ErrNotSet)),
		MetricPrimaryFencedSeconds: fencedFor(pair.Primary),
		MetricDrFencedSeconds:      fencedFor(pair.DR),
	}}
	if s.Metrics != nil {
		metrics := make([]emf.Metric, 0, len(res.Metrics))
		for _, name := range []string{MetricNoActivePool, MetricBothActive, MetricBothFenced, MetricPeerUnreachable} {
			metrics = append(metrics, emf.Metric{Name: name, Unit: "Count", Value: res.Metrics[name]})
		}
		for _, name := range []string{MetricPrimaryFencedSeconds, MetricDrFencedSeconds} {
			metrics = append(metrics, emf.Metric{Name: name, Unit: "Seconds", Value: res.Metrics[name]})
		}
		if err := emf.Write(s.Metrics, MetricsNamespace, WatchDimensions(in.PrimaryUserPoolID, in.DRUserPoolID), now, metrics...); err != nil {
			return res, err
		}
	}
	return res, nil
}

// WatchDimensions are the dimensions of the mode watch's metrics, which the stack's alarms name.
func WatchDimensions(primaryPool, drPool string) map[string]string {
	return map[string]string{"PrimaryUserPoolId": primaryPool, "DrUserPoolId": drPool}
}

// watchConfig is the failover configuration naming the watch's two pools.
func watchConfig(in WatchInput) failover.Config {
	return Request{PrimaryUserPoolID: in.PrimaryUserPoolID, PrimaryRegion: in.PrimaryRegion, DRUserPoolID: in.DRUserPoolID, DRRegion: in.DRRegion}.config(0)
}

func describe(r poolmode.Reading) string {
	switch {
	case errors.Is(r.Err, poolmode.ErrNotSet):
		return "not set"
	case r.Err != nil:
		return "unread: " + r.Err.Error()
	}
	return string(r.State.Mode) + " since " + r.State.Since.UTC().Format(time.RFC3339)
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// quotaBound is the most users per second a full export can reach: UserList quota × page size.
var quotaBound = quota.Limits[quota.UserList].RPS * 60

func runDemo(ctx context.Context, args []string) error {
	fs := newFlags("demo", "demo [flags]")
	users := fs.Int("users", 5000, "users to seed in the Tokyo pool")
	latency := fs.Duration("latency", 100*time.Millisecond, "latency the emulator adds to each Cognito call (a realistic round trip)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	begin := time.Now()
	fmt.Printf("Cognito DR demo: back up an MFA-required Tokyo pool to Osaka, on the local stack\n\n")

	st, err := devstack.Start(devstack.Options{Quotas: true, Latency: *latency})
	if err != nil {
		return err
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, *users)
	if err != nil {
		return err
	}
	fmt.Printf("local AWS        %s (Cognito with AWS default quotas and %v latency, S3, SNS)\n", st.URL(), *latency)
	fmt.Printf("primary pool     %s (%s): MFA required, email as username, custom:tenant, groups, %d users\n", sc.TokyoID, sc.Tokyo.Region, *users)
	fmt.Printf("DR pool          %s (%s)\n", sc.OsakaID, sc.Osaka.Region)
	fmt.Printf("backup bucket    s3://%s (%s)\n\n", sc.Bucket, sc.BucketRegion)

	progress := newProgressLine(os.Stdout)
	steps := backup.NewSteps(st.Clients, backup.Config{TopicArn: sc.TopicArn})
	steps.Progress = progress.export
	exec, err := devstack.Executor(statemachines.Backup, steps.Functions(slog.New(slog.NewJSONHandler(io.Discard, nil))),
		asl.WithObserver(progress.state))
	if err != nil {
		return err
	}
	input, _ := json.Marshal(sc.BackupRequest())
	fmt.Printf("start execution  backup-demo with input %s\n", input)
	x, err := exec.Run(ctx, "backup-demo", input)
	if err != nil {
		return err
	}
	progress.done()
	if x.Status() != asl.StatusSucceeded {
		return fmt.Errorf("execution %s: %s: %s", x.Status(), x.ErrorName(), x.Cause())
	}
	return printBackupSummary(st, sc, x, time.Since(begin))
}

// printBackupSummary reads the manifest the execution wrote and prints what a user needs to know.
func printBackupSummary(st *devstack.Stack, sc *devstack.Scenario, x *asl.Execution, elapsed time.Duration) error {
	var out struct {
		ManifestKey string `json:"manifestKey"`
	}
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		return err
	}
	m, err := readManifest(st, sc, out.ManifestKey)
	if err != nil {
		return err
	}
	var exportSeconds float64
	for _, e := range x.History() {
		if e.State == "ExportUsers" && len(e.Output) > 0 {
			var o struct {
				Export backup.ExportOutput `json:"export"`
			}
			if json.Unmarshal(e.Output, &o) == nil && o.Export.Seconds > 0 {
				exportSeconds = o.Export.Seconds
			}
		}
	}
	rate := float64(m.Users) / exportSeconds
	fmt.Printf("\npath             %v\n", x.Path())
	fmt.Printf("users exported   %d (%d disabled; %s)\n", m.Users, m.Disabled, statusList(m.ByStatus))
	fmt.Printf("groups           %d with %d memberships\n", m.Groups, m.Memberships)
	fmt.Printf("importable rows  %d for %s in %d CSV file(s)\n", m.Import.Accepted, m.Import.Target.UserPoolID, len(m.Import.Parts))
	fmt.Printf("rejected rows    %d\n", m.Import.Rejected)
	reasons := make([]string, 0, len(m.Import.ByReason))
	for r := range m.Import.ByReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Printf("  %-22s %d\n", r, m.Import.ByReason[r])
	}
	fmt.Printf("files written\n")
	width := len("manifest")
	for _, f := range m.Files {
		width = max(width, len(f.Kind))
	}
	for _, f := range m.Files {
		fmt.Printf("  %-*s s3://%s/%s (%d bytes)\n", width, f.Kind, sc.Bucket, f.Key, f.Bytes)
	}
	fmt.Printf("  %-*s s3://%s/%s\n", width, "manifest", sc.Bucket, out.ManifestKey)
	for _, msg := range st.AWS.SNS().Messages() {
		fmt.Printf("SNS notification %q\n", msg.Subject)
	}
	fmt.Printf("export           %.1f s, %.0f users/s against the UserList quota bound of %.0f users/s (ratio %.2f)\n", exportSeconds, rate, quotaBound, rate/quotaBound)
	fmt.Printf("elapsed          %.1f s in all\n", elapsed.Seconds())
	return nil
}

func readManifest(st *devstack.Stack, sc *devstack.Scenario, key string) (*backup.Manifest, error) {
	body, err := st.ReadObject(context.Background(), sc.BucketRegion, sc.Bucket, key)
	if err != nil {
		return nil, err
	}
	var m backup.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", key, err)
	}
	return &m, nil
}

func statusList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", k, m[k])
	}
	return s
}

// progressLine prints state transitions and a live export line: users done, rate, ETA.
type progressLine struct {
	w    io.Writer
	tty  bool // redraw one line in a terminal; print a line a second into logs and pipes
	mu   sync.Mutex
	last time.Time
	live bool
}

func newProgressLine(f *os.File) *progressLine {
	fi, err := f.Stat()
	return &progressLine{w: f, tty: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p *progressLine) export(pr backup.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	every, prefix := time.Second, ""
	if p.tty {
		every, prefix = 250*time.Millisecond, "\r"
	}
	if time.Since(p.last) < every && pr.Users < pr.Estimated {
		return
	}
	p.last = time.Now()
	rate := float64(pr.Users) / max(pr.Elapsed.Seconds(), 1e-9)
	eta := "?"
	if pr.Estimated > pr.Users && rate > 0 {
		eta = fmt.Sprintf("%.0fs", float64(pr.Estimated-pr.Users)/rate)
	} else if pr.Estimated > 0 {
		eta = "0s"
	}
	fmt.Fprintf(p.w, "%s  exported %7d / ~%d users  %6.0f users/s  ETA %-6s", prefix, pr.Users, pr.Estimated, rate, eta)
	if !p.tty {
		fmt.Fprintln(p.w)
	}
	p.live = p.tty
}

func (p *progressLine) state(e asl.Event) {
	if e.Scope != "" || e.Type != asl.EventStateEntered {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprintln(p.w)
		p.live = false
	}
	fmt.Fprintf(p.w, "state            %s\n", e.State)
}

func (p *progressLine) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprintln(p.w)
		p.live = false
	}
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/totpreset"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// The calls reset-totp makes: the reset, and the look-ups of a dry run.
var (
	resetOps  = quota.MustOps("AdminDeleteSoftwareToken")
	lookupOps = quota.MustOps("AdminGetUser")
)

// resetResult is what reset-totp did, user by user; its JSON output.
type resetResult struct {
	Pool   string `json:"pool"`
	DryRun bool   `json:"dryRun"`
	// Reset are the users whose TOTP factor was deleted (a dry run: who has one to delete).
	Reset []string `json:"reset"`
	// NoTOTP (dry run only) are users who exist and have no TOTP factor.
	NoTOTP   []string       `json:"noTotp,omitempty"`
	NotFound []string       `json:"notFound"`
	Failed   []resetFailure `json:"failed"`
}

type resetFailure struct {
	User  string `json:"user"`
	Error string `json:"error"`
}

// runResetTOTP deletes users' TOTP authenticators so their next sign-in asks them to set up a new
// one (MFA_SETUP): after a failback or restore, or for a user who lost their device.
func runResetTOTP(ctx context.Context, args []string) error {
	return resetTOTPCommand(ctx, args, os.Stdout, os.Stderr)
}

func resetTOTPCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	limit := quota.Limits[quota.UserResourceUpdate].RPS
	fs := newFlags("reset-totp", "reset-totp --pool ID --region R (--user NAME ... | --users-file FILE) [--dry-run]")
	pool := fs.String("pool", "", "user pool id (required)")
	region := fs.String("region", "", "the pool's Region (required)")
	file := fs.String("users-file", "", "file with one username (or email, for email-as-username pools) per line; blank lines and lines starting with # are skipped")
	rps := fs.Float64("rps", limit, "calls per second, above 0 and at most the UserResourceUpdate quota that AdminDeleteSoftwareToken counts against (not adjustable)")
	dryRun := fs.Bool("dry-run", false, "change nothing: look each user up (AdminGetUser) and say whose TOTP would be deleted")
	var users listFlag
	fs.Var(&users, "user", "a username (repeatable)")
	var a awsFlags
	a.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "pool", "region"); err != nil {
		return err
	}
	if err := a.check(); err != nil {
		return err
	}
	if *rps <= 0 || *rps > limit {
		return usagef("--rps %v: must be above 0 and at most the UserResourceUpdate quota of %v/s", *rps, limit)
	}
	if prefix, _, ok := strings.Cut(*pool, "_"); !ok || prefix != *region {
		return usagef("--pool %s is not a pool of --region %s (a pool id starts with its Region and _)", *pool, *region)
	}
	if *file != "" {
		fromFile, err := readUserList(*file)
		if err != nil {
			return usageError{err}
		}
		users = append(users, fromFile...)
	}
	users = dedupe(users)
	if len(users) == 0 {
		return usagef("no users: give --user or --users-file (see cognito-dr reset-totp --help)")
	}

	clients, err := a.clients(ctx)
	if err != nil {
		return err
	}
	// One look at the pool first: a wrong pool or Region stops here, with one error, not one per user.
	if _, err := clients.Cognito(*region).DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: pool}); err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return usagef("pool %s does not exist in %s", *pool, *region)
		}
		return fmt.Errorf("describe pool %s: %w", *pool, err)
	}

	reg := quota.NewRegistry(quota.Rates{quota.UserResourceUpdate: *rps})
	var do func(ctx context.Context, user string) (string, error)
	if *dryRun {
		c, pace := clients.Cognito(*region), reg.Pacer(*region, lookupOps)
		do = func(ctx context.Context, user string) (string, error) {
			if err := pace.Wait(ctx, "AdminGetUser"); err != nil {
				return "", err
			}
			u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: pool, Username: aws.String(user)})
			var nf *types.UserNotFoundException
			switch {
			case errors.As(err, &nf):
				return "not-found", nil
			case err != nil:
				return "", err
			case slices.Contains(u.UserMFASettingList, "SOFTWARE_TOKEN_MFA"):
				return "reset", nil
			}
			return "no-totp", nil
		}
	} else {
		c, pace := clients.TOTPReset(*region), reg.Pacer(*region, resetOps)
		do = func(ctx context.Context, user string) (string, error) {
			if err := pace.Wait(ctx, "AdminDeleteSoftwareToken"); err != nil {
				return "", err
			}
			err := c.AdminDeleteSoftwareToken(ctx, *pool, user)
			if totpreset.IsUserNotFound(err) {
				return "not-found", nil
			}
			return "reset", err
		}
	}

	res := resetResult{Pool: *pool, DryRun: *dryRun, Reset: []string{}, NotFound: []string{}, Failed: []resetFailure{}}
	var mu sync.Mutex
	done, last := 0, time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, u := range users {
		g.Go(func() error {
			outcome, err := do(gctx, u)
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException" {
				return fmt.Errorf("pool %s is gone: %w", *pool, err) // stops every other call
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && gctx.Err() == nil:
				res.Failed = append(res.Failed, resetFailure{User: u, Error: err.Error()})
			case err != nil:
			case outcome == "not-found":
				res.NotFound = append(res.NotFound, u)
			case outcome == "no-totp":
				res.NoTOTP = append(res.NoTOTP, u)
			default:
				res.Reset = append(res.Reset, u)
			}
			done++
			if time.Since(last) >= time.Second || done == len(users) {
				last = time.Now()
				fmt.Fprintf(stderr, "reset-totp: %d/%d users (reset %d, not found %d, failed %d)\n", done, len(users), len(res.Reset), len(res.NotFound), len(res.Failed))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, l := range [][]string{res.Reset, res.NotFound, res.NoTOTP} {
		slices.Sort(l)
	}
	slices.SortFunc(res.Failed, func(a, b resetFailure) int { return strings.Compare(a.User, b.User) })

	if a.json() {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		verb := "reset"
		if *dryRun {
			verb = "would reset"
		}
		fmt.Fprintf(stdout, "%s %d, not found %d, failed %d", verb, len(res.Reset), len(res.NotFound), len(res.Failed))
		if *dryRun {
			fmt.Fprintf(stdout, ", without TOTP %d", len(res.NoTOTP))
		}
		fmt.Fprintln(stdout)
		for _, u := range res.NotFound {
			fmt.Fprintf(stdout, "not found: %s\n", u)
		}
		for _, f := range res.Failed {
			fmt.Fprintf(stdout, "failed: %s: %s\n", f.User, f.Error)
		}
	}
	if n := len(res.NotFound) + len(res.Failed); n > 0 {
		return findingsError{fmt.Sprintf("%d of %d users not reset (%d not found, %d failed)", n, len(users), len(res.NotFound), len(res.Failed))}
	}
	return nil
}

// readUserList reads one user per line, skipping blank lines and # comments.
func readUserList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var users []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if u := strings.TrimSpace(sc.Text()); u != "" && !strings.HasPrefix(u, "#") {
			users = append(users, u)
		}
	}
	return users, sc.Err()
}

// dedupe keeps the first of each name, in order.
func dedupe(names []string) []string {
	seen := map[string]bool{}
	out := names[:0:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/totpreset"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// resetOps are the calls reset-totp makes.
var resetOps = quota.MustOps("AdminDeleteSoftwareToken")

// runResetTOTP deletes users' TOTP authenticators so their next sign-in asks them to set up a new
// one (MFA_SETUP): after a failback or restore, or for a user who lost their device.
func runResetTOTP(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reset-totp", flag.ContinueOnError)
	pool := fs.String("pool", "", "user pool id (required)")
	region := fs.String("region", "", "the pool's Region (required)")
	file := fs.String("users-file", "", "file with one username (or email, for email-as-username pools) per line")
	rps := fs.Float64("rps", 0, "calls per second, at most the UserResourceUpdate quota that AdminDeleteSoftwareToken counts against (25/s, not adjustable); 0 means that quota, or USER_RESOURCE_UPDATE_RPS when set")
	var users listFlag
	fs.Var(&users, "user", "a username (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if u := strings.TrimSpace(sc.Text()); u != "" {
				users = append(users, u)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return err
		}
	}
	if *pool == "" || *region == "" || len(users) == 0 {
		fs.Usage()
		return errors.New("-pool, -region and at least one -user or -users-file are required")
	}
	rates, err := quota.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	if *rps != 0 {
		if l := quota.Limits[quota.UserResourceUpdate]; *rps < 0 || *rps > l.RPS {
			return fmt.Errorf("-rps %v: must be above 0 and at most the UserResourceUpdate quota of %v/s", *rps, l.RPS)
		}
		rates[quota.UserResourceUpdate] = *rps
	}
	clients, err := awsclients.Load(ctx, os.Getenv)
	if err != nil {
		return err
	}
	c := clients.TOTPReset(*region)
	pace := quota.NewRegistry(rates).Pacer(*region, resetOps)
	var mu sync.Mutex
	counts := map[string]int{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, u := range users {
		g.Go(func() error {
			if err := pace.Wait(gctx, "AdminDeleteSoftwareToken"); err != nil {
				return err
			}
			err := c.AdminDeleteSoftwareToken(gctx, *pool, u)
			outcome := "reset"
			switch {
			case totpreset.IsUserNotFound(err):
				outcome = "not-found"
			case err != nil:
				outcome = "failed"
				fmt.Fprintf(os.Stderr, "%s: %v\n", u, err)
			}
			mu.Lock()
			counts[outcome]++
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Printf("reset %d, not found %d, failed %d\n", counts["reset"], counts["not-found"], counts["failed"])
	if counts["failed"] > 0 {
		return fmt.Errorf("%d users could not be reset", counts["failed"])
	}
	return nil
}

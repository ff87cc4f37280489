package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
)

// runValidateCSV checks an import CSV — one the backup wrote and someone edited, or one written
// by hand — against a pool's own header and rules, with the same checks the backup applies, and
// writes the importable rows and a rejects report to a directory of their own. It never overwrites
// a file (the backup's own rejects.jsonl beside the CSV included) unless --force says so, and exits
// 1 when any row is rejected, so a script can tell a clean file from one that needs work.
func runValidateCSV(ctx context.Context, args []string) error {
	return validateCSVCommand(ctx, args, os.Stdout)
}

// validateResult is the command's JSON output.
type validateResult struct {
	File     string         `json:"file"`
	Rows     int            `json:"rows"`
	Accepted int            `json:"importable"`
	Rejected int            `json:"rejected"`
	ByReason map[string]int `json:"byReason"`
	Parts    []string       `json:"parts"`
	Rejects  string         `json:"rejects"`
}

func validateCSVCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("validate-csv", "validate-csv --pool ID --region REGION --file FILE [--out DIR] [--force]")
	pool := fs.String("pool", "", "user pool id the file will be imported into (required)")
	region := fs.String("region", "", "the pool's Region (required)")
	file := fs.String("file", "", "the CSV file (required)")
	out := fs.String("out", "", "directory for the importable parts and rejects.jsonl (default: <file without .csv>.validated beside the file)")
	force := fs.Bool("force", false, "overwrite files already in --out")
	var a awsFlags
	a.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "pool", "region", "file"); err != nil {
		return err
	}
	if err := a.check(); err != nil {
		return err
	}
	if *out == "" {
		*out = strings.TrimSuffix(*file, filepath.Ext(*file)) + ".validated"
	}
	in, err := os.Open(*file)
	if err != nil {
		return usageError{err}
	}
	defer in.Close()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return usageError{err}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	create := func(name string) (*os.File, error) {
		path := filepath.Join(*out, name)
		f, err := os.OpenFile(path, flags, 0o644)
		if errors.Is(err, os.ErrExist) {
			return nil, usagef("%s already exists: choose another --out, or --force to overwrite", path)
		}
		return f, err
	}
	if !*force {
		// Refuse before writing anything, so a refused run leaves the directory as it was.
		taken, _ := filepath.Glob(filepath.Join(*out, "importable-*.csv"))
		if _, err := os.Stat(filepath.Join(*out, "rejects.jsonl")); err == nil {
			taken = append(taken, filepath.Join(*out, "rejects.jsonl"))
		}
		if len(taken) > 0 {
			return usagef("%s already holds %s: choose another --out, or --force to overwrite", *out, strings.Join(taken, ", "))
		}
	}
	clients, err := a.clients(ctx)
	if err != nil {
		return err
	}
	target, err := csvbuild.Target(ctx, clients.Cognito(*region), *pool, *region)
	if err != nil {
		return err
	}
	rejects, err := create("rejects.jsonl")
	if err != nil {
		return err
	}
	defer rejects.Close()
	var partNames []string
	parts := importcsv.NewWriter(target, func(n int) (io.WriteCloser, error) {
		f, err := create(fmt.Sprintf("importable-%04d.csv", n))
		if err == nil {
			partNames = append(partNames, f.Name())
		}
		return f, err
	})
	sum, err := importcsv.ValidateCSV(target, in, parts, importcsv.NewReportWriter(rejects))
	if err != nil {
		return err
	}
	if err := rejects.Close(); err != nil {
		return err
	}
	res := validateResult{File: *file, Rows: sum.Rows, Accepted: sum.Accepted, Rejected: sum.Rejected, ByReason: sum.ByReason, Parts: partNames, Rejects: rejects.Name()}
	if res.ByReason == nil {
		res.ByReason = map[string]int{}
	}
	if a.json() {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		reasons := make([]string, 0, len(sum.ByReason))
		for r := range sum.ByReason {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		fmt.Fprintf(stdout, "rows %d, importable %d, rejected %d\n", sum.Rows, sum.Accepted, sum.Rejected)
		for _, r := range reasons {
			fmt.Fprintf(stdout, "  %-28s %d\n", r, sum.ByReason[r])
		}
		for _, p := range partNames {
			fmt.Fprintf(stdout, "part    %s\n", p)
		}
		fmt.Fprintf(stdout, "rejects %s\n", rejects.Name())
	}
	if sum.Rejected > 0 {
		return findingsError{fmt.Sprintf("%d of %d rows rejected (reasons in %s)", sum.Rejected, sum.Rows, rejects.Name())}
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
)

// runValidateCSV checks an import CSV — one the backup wrote and someone edited, or one written
// by hand — against a pool's own header and rules, with the same checks the backup applies, and
// writes the importable rows and a rejects report beside it.
func runValidateCSV(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("validate-csv", flag.ContinueOnError)
	pool := fs.String("pool", "", "user pool id the file will be imported into (required)")
	region := fs.String("region", "", "the pool's Region (required)")
	file := fs.String("file", "", "the CSV file (required)")
	out := fs.String("out", "", "directory for importable parts and rejects.jsonl (default: beside the file)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pool == "" || *region == "" || *file == "" {
		fs.Usage()
		return errors.New("-pool, -region and -file are required")
	}
	if *out == "" {
		*out = filepath.Dir(*file)
	}
	clients, err := awsclients.Load(ctx, os.Getenv)
	if err != nil {
		return err
	}
	target, err := csvbuild.Target(ctx, clients.Cognito(*region), *pool, *region)
	if err != nil {
		return err
	}
	in, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer in.Close()
	rejects, err := os.Create(filepath.Join(*out, "rejects.jsonl"))
	if err != nil {
		return err
	}
	defer rejects.Close()
	parts := importcsv.NewWriter(target, func(n int) (io.WriteCloser, error) {
		return os.Create(filepath.Join(*out, fmt.Sprintf("importable-%04d.csv", n)))
	})
	sum, err := importcsv.ValidateCSV(target, in, parts, importcsv.NewReportWriter(rejects))
	if err != nil {
		return err
	}
	reasons := make([]string, 0, len(sum.ByReason))
	for r := range sum.ByReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	fmt.Printf("rows %d, importable %d, rejected %d\n", sum.Rows, sum.Accepted, sum.Rejected)
	for _, r := range reasons {
		fmt.Printf("  %-28s %d\n", r, sum.ByReason[r])
	}
	summary, _ := json.Marshal(sum.Parts)
	fmt.Printf("parts %s\nrejects %s\n", summary, rejects.Name())
	return nil
}

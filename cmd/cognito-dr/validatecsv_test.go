package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
)

// TestValidateCSVCommand runs the command against the local stack through the standard AWS
// settings (AWS_ENDPOINT_URL), as an operator would against AWS, on a hand-edited file.
func TestValidateCSVCommand(t *testing.T) {
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.Clients.Cognito(sc.Osaka.Region).GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: aws.String(sc.OsakaID)})
	if err != nil {
		t.Fatal(err)
	}
	row := func(email, verified string) string {
		cells := make([]string, len(h.CSVHeader))
		for i, c := range h.CSVHeader {
			switch c {
			case "email", "cognito:username":
				cells[i] = email
			case "email_verified":
				cells[i] = verified
			case "cognito:mfa_enabled":
				cells[i] = "true"
			case "phone_number_verified":
				cells[i] = "false"
			}
		}
		return strings.Join(cells, ",")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "edited.csv")
	body := strings.Join([]string{strings.Join(h.CSVHeader, ","), row("ok@example.jp", "true"), row("unverified@example.jp", "false")}, "\n") + "\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// --endpoint-url wins over AWS_ENDPOINT_URL, as in the AWS CLI: the variable points nowhere.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")

	args := []string{"--pool", sc.OsakaID, "--region", sc.Osaka.Region, "--file", file, "--endpoint-url", st.URL()}
	err = runValidateCSV(ctx, args)
	if exitCode(err) != exitFindings {
		t.Fatalf("a file with a rejected row: err %v exits %d, want %d", err, exitCode(err), exitFindings)
	}
	dir = filepath.Join(dir, "edited.validated")
	part, err := os.ReadFile(filepath.Join(dir, "importable-0001.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(part), "ok@example.jp") || strings.Contains(string(part), "unverified@example.jp") {
		t.Errorf("importable part:\n%s", part)
	}
	rejects, err := os.Open(filepath.Join(dir, "rejects.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer rejects.Close()
	var got []importcsv.Reject
	if err := importcsv.ReadReport(rejects, func(r importcsv.Reject) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Username != "unverified@example.jp" || got[0].Reason != "no_verified_contact" || got[0].Line != 3 {
		t.Errorf("rejects = %+v, want unverified@example.jp on line 3 for no_verified_contact", got)
	}

	// A second run must not overwrite the first one's files (the backup's own rejects.jsonl could be
	// there): it refuses, exit 2, and leaves them as they were; --force overwrites.
	before, err := os.ReadFile(filepath.Join(dir, "rejects.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rejects.jsonl"), []byte("kept\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = runValidateCSV(ctx, args)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second run: err %v exits %d, want %d naming --force", err, exitCode(err), exitUsage)
	}
	if kept, _ := os.ReadFile(filepath.Join(dir, "rejects.jsonl")); string(kept) != "kept\n" {
		t.Errorf("a refused run changed rejects.jsonl: %q", kept)
	}
	var out strings.Builder
	err = validateCSVCommand(ctx, append(args, "--force", "--output", "json"), &out)
	if exitCode(err) != exitFindings {
		t.Fatalf("--force: err %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "rejects.jsonl")); string(after) != string(before) {
		t.Errorf("--force: rejects.jsonl = %q, want the first run's %q", after, before)
	}
	var res validateResult
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatalf("--output json: %v\n%s", err, out.String())
	}
	if res.Rows != 2 || res.Accepted != 1 || res.Rejected != 1 || res.ByReason["no_verified_contact"] != 1 || len(res.Parts) != 1 {
		t.Errorf("--output json = %+v", res)
	}

	// A file whose rows are all importable exits 0.
	clean := filepath.Join(t.TempDir(), "clean.csv")
	body = strings.Join([]string{strings.Join(h.CSVHeader, ","), row("ok@example.jp", "true")}, "\n") + "\n"
	if err := os.WriteFile(clean, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", st.URL())
	if err := runValidateCSV(ctx, []string{"--pool", sc.OsakaID, "--region", sc.Osaka.Region, "--file", clean}); err != nil {
		t.Errorf("a clean file: %v", err)
	}
}

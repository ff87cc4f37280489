package importcsv

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenTokyo pins the exact bytes of a small import file for the Tokyo pool.
func TestGoldenTokyo(t *testing.T) {
	tg := mustTarget(t, tokyoHeader, tokyoPool())
	users := []snapshot.User{
		tokyoUser("5f0c1d2e-0000-4000-8000-000000000001", "taro.yamada@example.jp",
			"name", "Yamada, Taro", "given_name", "Taro", "family_name", "Yamada",
			"birthdate", "1985-02-01", "updated_at", "1711962000", "locale", "ja-JP",
			"address", "1-1 Chiyoda, Chiyoda-ku, Tokyo", "phone_number", "+819012345678", "phone_number_verified", "false"),
		tokyoUser("5f0c1d2e-0000-4000-8000-000000000002", "hanako@example.jp", "custom:tenant", "globex"),
		// Rejected: the blog post's failure, a user copied without email_verified.
		tokyoUser("5f0c1d2e-0000-4000-8000-000000000003", "nobody@example.jp", "email_verified", ""),
	}
	users[1].MFA = &snapshot.MFA{Enabled: []string{"SOFTWARE_TOKEN_MFA"}}
	parts := &memParts{}
	var rep bytes.Buffer
	s, err := ValidateUsers(tg, seqOf(users...), NewWriter(tg, parts.open), NewReportWriter(&rep))
	if err != nil {
		t.Fatal(err)
	}
	if s.Accepted != 2 || s.Rejected != 1 || len(parts.bufs) != 1 {
		t.Fatalf("summary %+v", s)
	}
	golden(t, "tokyo.csv", parts.bufs[0].Bytes())
	golden(t, "tokyo.rejects.jsonl", rep.Bytes())

	// The golden file read back gives the same rows, so validating it rejects nothing.
	if rej, s2 := validateCSV(t, tg, parts.bufs[0].String()); len(rej) != 0 || s2.Accepted != 2 {
		t.Errorf("golden file re-validated: %+v, rejects %v", s2, rej)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestValidateCSVHeaderMismatchFailsWholeFile(t *testing.T) {
	tg := mustTarget(t, tokyoHeader, tokyoPool())
	file := strings.Join(classicHeader, ",") + "\n" + "a,b\n"
	parts := &memParts{}
	_, err := ValidateCSV(tg, strings.NewReader(file), NewWriter(tg, parts.open), nil)
	var herr *HeaderError
	if !errors.As(err, &herr) {
		t.Fatalf("err = %v, want a *HeaderError", err)
	}
	want := &HeaderError{Missing: []string{"custom:tenant"}, Extra: []string{"custom:code", "custom:seats"}}
	if diff := cmp.Diff(want, herr); diff != "" {
		t.Errorf("HeaderError (-want +got):\n%s", diff)
	}
	if len(parts.bufs) != 0 {
		t.Errorf("wrote %d parts for a rejected file", len(parts.bufs))
	}
}

func TestReportCounts(t *testing.T) {
	var b bytes.Buffer
	r := NewReportWriter(&b)
	for _, reason := range []string{ReasonNoVerifiedContact, ReasonDuplicateUsername, ReasonNoVerifiedContact} {
		if err := r.Write(Reject{Username: "u", Reason: reason, Detail: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{ReasonNoVerifiedContact: 2, ReasonDuplicateUsername: 1}
	if diff := cmp.Diff(want, r.Counts()); diff != "" {
		t.Errorf("Counts (-want +got):\n%s", diff)
	}
	if got := strings.Count(b.String(), "\n"); got != 3 {
		t.Errorf("%d report lines, want 3", got)
	}
}

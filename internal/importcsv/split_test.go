package importcsv

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

func TestWriterSplits(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	var users []snapshot.User
	for i := range 5 {
		users = append(users, classicUser(fmt.Sprintf("user%02d", i)))
	}
	headerLen := int64(len(strings.Join(classicHeader, ",")) + 1)
	rowLen := int64(len(appendLine(nil, tg.Row(users[0]).Values)))
	tests := []struct {
		name     string
		maxRows  int
		maxBytes int64
		wantRows []int
	}{
		{"Cognito's limits", MaxFileRows, MaxFileBytes, []int{5}},
		{"2 rows a part", 2, MaxFileBytes, []int{2, 2, 1}},
		{"bytes for 3 rows a part", 100, headerLen + 3*rowLen, []int{3, 2}},
		{"one byte short of 3 rows", 100, headerLen + 3*rowLen - 1, []int{2, 2, 1}},
		{"a limit below one row still writes each row", 100, 1, []int{1, 1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := &memParts{}
			w := NewWriter(tg, parts.open)
			w.MaxRows, w.MaxBytes = tt.maxRows, tt.maxBytes
			s, err := ValidateUsers(tg, seqOf(users...), w, nil)
			if err != nil {
				t.Fatal(err)
			}
			var gotRows []int
			var want []Part
			for i, p := range s.Parts {
				gotRows = append(gotRows, p.Rows)
				b := parts.bufs[i].Bytes()
				sum := sha256.Sum256(b)
				want = append(want, Part{Number: i + 1, Rows: p.Rows, Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
				if !strings.HasPrefix(string(b), strings.Join(classicHeader, ",")+"\n") {
					t.Errorf("part %d does not start with the header", i+1)
				}
				if p.Rows > 1 && p.Bytes > tt.maxBytes {
					t.Errorf("part %d is %d bytes, over the %d limit", i+1, p.Bytes, tt.maxBytes)
				}
			}
			if diff := cmp.Diff(tt.wantRows, gotRows); diff != "" {
				t.Errorf("rows per part (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, s.Parts); diff != "" {
				t.Errorf("parts vs bytes written (-want +got):\n%s", diff)
			}
			if len(parts.bufs) != len(s.Parts) {
				t.Errorf("opened %d parts, reported %d", len(parts.bufs), len(s.Parts))
			}
			// Every part is itself a valid import file with the same rows.
			var all []string
			for _, b := range parts.bufs {
				rej, ps := validateCSV(t, tg, b.String())
				if len(rej) != 0 || ps.Accepted == 0 {
					t.Errorf("part re-validated: %d accepted, rejects %v", ps.Accepted, rej)
				}
				lines := strings.Split(strings.TrimSpace(b.String()), "\n")
				all = append(all, lines[1:]...)
			}
			if len(all) != len(users) {
				t.Errorf("parts hold %d rows, want %d", len(all), len(users))
			}
		})
	}
}

func TestWriterDuplicatesAcrossParts(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool()) // case-sensitive usernames
	parts := &memParts{}
	w := NewWriter(tg, parts.open)
	w.MaxRows = 1
	var rep strings.Builder
	s, err := ValidateUsers(tg, seqOf(classicUser("amy"), classicUser("bob"), classicUser("amy"), classicUser("Amy")), w, NewReportWriter(&rep))
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Rows: 4, Accepted: 3, Rejected: 1, ByReason: map[string]int{ReasonDuplicateUsername: 1}}
	if diff := cmp.Diff(want, s, cmpopts.IgnoreFields(Summary{}, "Parts")); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if got := len(s.Parts); got != 3 {
		t.Errorf("%d parts, want 3", got)
	}
	if !strings.Contains(rep.String(), `"username":"amy","reason":"duplicate_username"`) {
		t.Errorf("report = %s", rep.String())
	}
}

func TestWriterNoRowsNoParts(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	parts := &memParts{}
	s, err := ValidateUsers(tg, seqOf(classicUser("x", "name", "")), NewWriter(tg, parts.open), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Parts) != 0 || len(parts.bufs) != 0 || s.Rejected != 1 {
		t.Errorf("summary %+v, %d parts opened; want no parts, one reject", s, len(parts.bufs))
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("s3 went away") }
func (failingWriter) Close() error              { return nil }

func TestWriterErrors(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	boom := errors.New("no bucket")
	_, err := ValidateUsers(tg, seqOf(classicUser("a")),
		NewWriter(tg, func(int) (io.WriteCloser, error) { return nil, boom }), nil)
	if !errors.Is(err, boom) {
		t.Errorf("open failure: err = %v", err)
	}
	_, err = ValidateUsers(tg, seqOf(classicUser("a")),
		NewWriter(tg, func(int) (io.WriteCloser, error) { return failingWriter{}, nil }), nil)
	if err == nil || !strings.Contains(err.Error(), "s3 went away") {
		t.Errorf("write failure: err = %v", err)
	}
	readErr := errors.New("snapshot truncated")
	users := func(yield func(snapshot.User, error) bool) {
		if yield(classicUser("a"), nil) {
			yield(snapshot.User{}, readErr)
		}
	}
	s, err := ValidateUsers(tg, users, NewWriter(tg, (&memParts{}).open), nil)
	if !errors.Is(err, readErr) || s.Accepted != 1 {
		t.Errorf("read failure: err = %v, summary %+v", err, s)
	}
}

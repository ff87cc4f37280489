package importcsv

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// TestCandidatesSameOutcomeHoldingOnlyRepeats: the two-pass writer (the fingerprints of every
// username, then a writer holding only the usernames whose fingerprint Repeated found more than
// once) writes the same parts and the same rejects as a writer holding every username, and holds
// only the repeated usernames.
func TestCandidatesSameOutcomeHoldingOnlyRepeats(t *testing.T) {
	tg := mustTarget(t, tokyoHeader, tokyoPool()) // case-insensitive, username is the email
	var users []snapshot.User
	for i := range 600 {
		users = append(users, tokyoUser(fmt.Sprintf("5f0c1d2e-0000-4000-8000-%012d", i), fmt.Sprintf("user%d@example.jp", i)))
	}
	users = append(users,
		tokyoUser("u-a", "User7@Example.jp"),                      // repeats user7 in another case
		tokyoUser("u-b", "late@example.jp", "email_verified", ""), // rejected: its username is not taken
		tokyoUser("u-c", "late@example.jp"),                       // so this one is accepted
		tokyoUser("u-d", "LATE@example.jp"),                       // and this one repeats it
		tokyoUser("u-e", "user599@example.jp"),                    // repeats the last of the first run
		tokyoUser("u-f", "user7@example.jp"),                      // user7 a third time
	)

	run := func(twoPass bool) ([]string, string, Summary, *Writer) {
		parts := &memParts{}
		w := NewWriter(tg, parts.open)
		w.MaxRows = 100
		if twoPass {
			fp := NewFingerprints(Repeated(fingerprints(tg, users)))
			if fp.Len() != 3 {
				t.Errorf("found %d repeated fingerprints, want 3 (user7, late, user599)", fp.Len())
			}
			w.OnlyCandidates(fp)
		}
		var rep strings.Builder
		s, err := ValidateUsers(tg, seqOf(users...), w, NewReportWriter(&rep))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range parts.bufs {
			got = append(got, b.String())
		}
		return got, rep.String(), s, w
	}
	wantParts, wantRep, wantSum, _ := run(false)
	gotParts, gotRep, gotSum, w := run(true)
	if diff := cmp.Diff(wantParts, gotParts); diff != "" {
		t.Errorf("parts (-one pass +two passes):\n%s", diff)
	}
	if wantRep != gotRep {
		t.Errorf("rejects: one pass\n%s\ntwo passes\n%s", wantRep, gotRep)
	}
	if diff := cmp.Diff(wantSum, gotSum); diff != "" {
		t.Errorf("summary (-one pass +two passes):\n%s", diff)
	}
	if wantSum.ByReason[ReasonDuplicateUsername] != 4 || len(wantParts) != 7 {
		t.Errorf("fixture: %d duplicates in %d parts, want 4 in 7", wantSum.ByReason[ReasonDuplicateUsername], len(wantParts))
	}
	if len(w.seen) != 3 {
		t.Errorf("two-pass writer holds %d usernames, want the 3 repeated ones", len(w.seen))
	}
}

func fingerprints(tg *Target, users []snapshot.User) []uint64 {
	var fps []uint64
	for _, u := range users {
		fps = append(fps, Fingerprint(tg.UsernameKey(u)))
	}
	return fps
}

// TestValidatorContinuedPartByPart: validating users with a Writer of one part at a time, each
// resumed after the last (its parts and held usernames), stops at each part's end and writes the
// same parts, rejects and counts as one Writer, duplicates across the parts included.
func TestValidatorContinuedPartByPart(t *testing.T) {
	tg := mustTarget(t, tokyoHeader, tokyoPool())
	var users []snapshot.User
	for i := range 250 {
		users = append(users, tokyoUser(fmt.Sprintf("5f0c1d2e-0000-4000-8000-%012d", i), fmt.Sprintf("user%d@example.jp", i)))
	}
	users = append(users, tokyoUser("u-a", "User7@Example.jp"), tokyoUser("u-b", "x@example.jp", "email_verified", ""), tokyoUser("u-c", "USER240@example.jp"))
	fp := NewFingerprints(Repeated(fingerprints(tg, users)))

	one := &memParts{}
	w := NewWriter(tg, one.open)
	w.MaxRows = 100
	w.OnlyCandidates(fp)
	var oneRep strings.Builder
	want, err := ValidateUsers(tg, seqOf(users...), w, NewReportWriter(&oneRep))
	if err != nil {
		t.Fatal(err)
	}

	cont := &memParts{}
	var rep strings.Builder
	var got Summary
	var held []string
	next, stops := 0, 0
	for next < len(users) {
		w := NewWriter(tg, func(n int) (io.WriteCloser, error) {
			if n != len(cont.bufs)+1 {
				t.Errorf("opened part %d after %d parts", n, len(cont.bufs))
			}
			return cont.open(n)
		})
		w.MaxRows, w.MaxParts = 100, 1
		w.OnlyCandidates(fp)
		w.Resume(len(got.Parts), held)
		v := NewValidator(tg, w, NewReportWriter(&rep))
		for ; next < len(users); next++ {
			if err := v.User(users[next]); errors.Is(err, ErrFull) {
				stops++
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		s, err := v.Close()
		if err != nil {
			t.Fatal(err)
		}
		got.Add(s)
		held = w.Held()
	}
	if stops != 2 {
		t.Errorf("stopped %d times, want 2 (three parts of 100 rows at most)", stops)
	}
	if diff := cmp.Diff(one.strings(), cont.strings()); diff != "" {
		t.Errorf("parts (-one writer +part by part):\n%s", diff)
	}
	if oneRep.String() != rep.String() {
		t.Errorf("rejects: one writer\n%s\npart by part\n%s", oneRep.String(), rep.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-one writer +part by part):\n%s", diff)
	}
	if want.ByReason[ReasonDuplicateUsername] != 2 {
		t.Errorf("fixture: %d duplicates, want 2", want.ByReason[ReasonDuplicateUsername])
	}
}

package snapshot

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLinesRoundTrip(t *testing.T) {
	want := []User{
		{Username: "a", Attributes: map[string]string{"email": "a@example.com", "email_verified": "true"}, Enabled: true, Status: "CONFIRMED", Created: time.Unix(100, 0).UTC(), Modified: time.Unix(200, 0).UTC()},
		{Username: "b", Attributes: map[string]string{}, Status: "UNCONFIRMED", MFA: &MFA{Enabled: []string{"SOFTWARE_TOKEN_MFA"}, Preferred: "SOFTWARE_TOKEN_MFA"}},
	}
	var buf bytes.Buffer
	w := NewLineWriter(&buf)
	for _, u := range want {
		if err := w.Write(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var got []User
	if err := ReadLines(&buf, func(u User) error { got = append(got, u); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestReadLinesRejectsCorruptData(t *testing.T) {
	if err := ReadLines(bytes.NewReader([]byte("not gzip")), func(User) error { return nil }); err == nil {
		t.Fatal("want an error for data that is not gzip")
	}
}

// TestRawLinesAreTheLinesWritten: ReadRawLines gives each record's line as Write encoded it, in
// order, a line longer than its read buffer (a user with large attributes) whole, and a line
// WriteLine wrote as given; what it gives decodes to the record written.
func TestRawLinesAreTheLinesWritten(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	want := []User{
		{Username: "a", Attributes: map[string]string{"email": "a@example.com"}},
		{Username: "big", Attributes: map[string]string{"custom:blob": big}},
		{Username: "c"},
	}
	var buf bytes.Buffer
	w := NewLineWriter(&buf)
	for _, u := range want[:2] {
		if err := w.Write(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteLine([]byte(`{"username":"c"}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Count() != 3 {
		t.Errorf("Count %d after 3 records", w.Count())
	}
	var got []User
	if err := ReadRawLines(&buf, func(line []byte) error {
		var u User
		if err := json.Unmarshal(line, &u); err != nil {
			return err
		}
		if bytes.ContainsAny(line, "\n") {
			t.Errorf("line of %q holds a newline", u.Username)
		}
		got = append(got, u)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines read (-want +got):\n%s", diff)
	}
}

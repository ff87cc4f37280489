package snapshot

import (
	"bytes"
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

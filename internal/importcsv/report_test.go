package importcsv

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReportRoundTrip(t *testing.T) {
	want := []Reject{
		{Line: 2, Username: "a@example.jp", Reason: "no_verified_contact", Detail: "d"},
		{Username: "b@example.jp", Reason: "bad_birthdate", Also: []string{"phone_not_e164"}},
	}
	var buf bytes.Buffer
	w := NewReportWriter(&buf)
	for _, rj := range want {
		if err := w.Write(rj); err != nil {
			t.Fatal(err)
		}
	}
	var got []Reject
	if err := ReadReport(&buf, func(rj Reject) error { got = append(got, rj); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := ReadReport(bytes.NewBufferString("{not json"), func(Reject) error { return nil }); err == nil {
		t.Error("want an error for a corrupt report")
	}
}

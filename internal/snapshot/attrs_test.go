package snapshot

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPackAttributes(t *testing.T) {
	a := map[string]string{"email": "a@example.jp", "given_name": "A=B", "custom:tenant": ""}
	b := map[string]string{"custom:tenant": "", "given_name": "A=B", "email": "a@example.jp"}
	if PackAttributes(a) != PackAttributes(b) {
		t.Error("the same attributes packed differently")
	}
	if PackAttributes(a) == PackAttributes(map[string]string{"email": "a@example.jp"}) {
		t.Error("different attributes packed the same")
	}
	if diff := cmp.Diff(a, UnpackAttributes(PackAttributes(a))); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

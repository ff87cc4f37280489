package main

import (
	"context"
	"strings"
	"testing"
)

// TestDemoRestore: the pool-loss story runs to its end on the local stack: the restored pool has
// the users, groups, memberships and disabled users Tokyo had, and a restored user signs in
// after a password reset and MFA setup.
func TestDemoRestore(t *testing.T) {
	var out strings.Builder
	if err := demoRestore(context.Background(), 60, 0, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	var before, after string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "Tokyo pool ") {
			before = line[strings.Index(line, "): ")+3 : strings.Index(line, "; app client")]
		}
		if strings.HasPrefix(line, "restored pool ") {
			after = line[strings.Index(line, " s: ")+4:]
		}
	}
	if before == "" || before != after {
		t.Errorf("Tokyo before the loss: %q; restored pool: %q\n%s", before, after, text)
	}
	for _, want := range []string{"DescribeUserPool answers ResourceNotFoundException", "PasswordResetRequiredException", "MFA_SETUP", "tokens issued"} {
		if !strings.Contains(text, want) {
			t.Errorf("the story lacks %q:\n%s", want, text)
		}
	}
}

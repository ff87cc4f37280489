package importcsv

import (
	"fmt"
	"io"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

type discardPart struct{}

func (discardPart) Write(p []byte) (int, error) { return len(p), nil }
func (discardPart) Close() error                { return nil }

// BenchmarkValidateUsers encodes, checks and writes 100,000 users of the Tokyo pool.
func BenchmarkValidateUsers(b *testing.B) {
	tg := mustTarget(b, tokyoHeader, tokyoPool())
	users := make([]snapshot.User, 100_000)
	for i := range users {
		users[i] = tokyoUser(fmt.Sprintf("5f0c1d2e-0000-4000-8000-%012d", i), fmt.Sprintf("user%d@example.jp", i),
			"name", "Yamada, Taro", "birthdate", "1985-02-01", "updated_at", "1711962000", "phone_number", "+819012345678")
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := ValidateUsers(tg, seqOf(users...), NewWriter(tg, func(int) (io.WriteCloser, error) { return discardPart{}, nil }), nil)
		if err != nil || s.Accepted != len(users) {
			b.Fatalf("summary %+v, err %v", s.ByReason, err)
		}
	}
}

package importcsv

import (
	"hash/fnv"
	"slices"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// UsernameKey is what makes two users the same user of an import: their cognito:username,
// lower-cased in a pool whose usernames are not case-sensitive (usernameKey of their row).
func (t *Target) UsernameKey(u snapshot.User) string {
	return t.keyOf(t.encodeUsername(u))
}

// Fingerprint is a username key's stable 64-bit hash (FNV-1a), the same in every invocation: a
// first pass over users records each user's fingerprint, and the fingerprints it saw more than
// once (Repeated) are the only usernames a Writer then needs to hold (OnlyCandidates).
func Fingerprint(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()
}

// Repeated returns the fingerprints that appear more than once in fps, each once, in order. It
// sorts fps.
func Repeated(fps []uint64) []uint64 {
	slices.Sort(fps)
	var out []uint64
	for j := 1; j < len(fps); j++ {
		if fps[j] == fps[j-1] && (len(out) == 0 || out[len(out)-1] != fps[j]) {
			out = append(out, fps[j])
		}
	}
	return out
}

// Fingerprints are the username fingerprints seen more than once among the users of an import.
type Fingerprints struct {
	dup map[uint64]struct{}
}

// NewFingerprints holds the repeated fingerprints of every part of a first pass (Repeated).
func NewFingerprints(repeated ...[]uint64) *Fingerprints {
	fp := &Fingerprints{dup: map[uint64]struct{}{}}
	for _, r := range repeated {
		for _, h := range r {
			fp.dup[h] = struct{}{}
		}
	}
	return fp
}

// Len is how many fingerprints were seen more than once.
func (fp *Fingerprints) Len() int { return len(fp.dup) }

// candidate reports whether key's fingerprint was seen more than once.
func (fp *Fingerprints) candidate(key string) bool {
	_, ok := fp.dup[Fingerprint(key)]
	return ok
}

package importcsv

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"iter"
	"os"
	"slices"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// spillFiles is how many files Candidates spreads the fingerprints over: each is sorted in
// memory on its own, 8 bytes a user / spillFiles (1.25 MB at 40 million users).
const spillFiles = 256

// Candidates is the first of two passes over users that find duplicate usernames without
// holding every username: it fingerprints the key (usernameKey) of every user's row, accepted
// or not (Check is left to the second pass: a superset of candidates changes nothing), spills
// the fingerprints to files under dir (8 bytes a user, removed before it returns) and returns
// the fingerprints seen more than once. users must yield the same users in both passes (a
// snapshot is never rewritten). A username repeated in the import has its
// fingerprint among them; Writer.OnlyCandidates then holds only the usernames with such a
// fingerprint (usually none), so the outcome is exactly that of holding every username.
func (t *Target) Candidates(users iter.Seq2[snapshot.User, error], dir string) (*Fingerprints, error) {
	fp := &Fingerprints{seed: maphash.MakeSeed(), dup: map[uint64]struct{}{}}
	files := make([]*os.File, spillFiles)
	bufs := make([]*bufio.Writer, spillFiles)
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}()
	var b [8]byte
	for u, err := range users {
		if err != nil {
			return nil, fmt.Errorf("find duplicate usernames: %w", err)
		}
		h := fp.of(t.keyOf(t.encodeUsername(u)))
		i := h % spillFiles
		if files[i] == nil {
			f, err := os.CreateTemp(dir, "usernames-*")
			if err != nil {
				return nil, fmt.Errorf("find duplicate usernames: %w", err)
			}
			files[i], bufs[i] = f, bufio.NewWriterSize(f, 4<<10)
		}
		binary.LittleEndian.PutUint64(b[:], h)
		if _, err := bufs[i].Write(b[:]); err != nil {
			return nil, fmt.Errorf("find duplicate usernames: spill: %w", err)
		}
	}
	var hs []uint64
	for i, f := range files {
		if f == nil {
			continue
		}
		var err error
		if hs, err = readFingerprints(f, bufs[i], hs[:0]); err != nil {
			return nil, fmt.Errorf("find duplicate usernames: %w", err)
		}
		slices.Sort(hs)
		for j := 1; j < len(hs); j++ {
			if hs[j] == hs[j-1] {
				fp.dup[hs[j]] = struct{}{}
			}
		}
	}
	return fp, nil
}

// readFingerprints flushes a spill file and reads it back into dst.
func readFingerprints(f *os.File, bw *bufio.Writer, dst []uint64) ([]uint64, error) {
	if err := bw.Flush(); err != nil {
		return dst, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return dst, err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	var b [8]byte
	for {
		if _, err := io.ReadFull(br, b[:]); errors.Is(err, io.EOF) {
			return dst, nil
		} else if err != nil {
			return dst, err
		}
		dst = append(dst, binary.LittleEndian.Uint64(b[:]))
	}
}

// Fingerprints are the username fingerprints seen more than once by Candidates.
type Fingerprints struct {
	seed maphash.Seed
	dup  map[uint64]struct{}
}

func (fp *Fingerprints) of(key string) uint64 { return maphash.String(fp.seed, key) }

// Len is how many fingerprints were seen more than once.
func (fp *Fingerprints) Len() int { return len(fp.dup) }

// candidate reports whether key's fingerprint was seen more than once.
func (fp *Fingerprints) candidate(key string) bool {
	_, ok := fp.dup[fp.of(key)]
	return ok
}

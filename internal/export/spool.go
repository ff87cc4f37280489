package export

import (
	"bufio"
	"fmt"
	"hash/maphash"
	"io"
	"os"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// nameSet holds the usernames one listing has written, to write each once: as 128-bit
// fingerprints (two maphash sums under seeds of its own), 16 bytes a name whatever its length,
// instead of the names themselves. Two different names share a fingerprint with a probability
// of about n²/2¹²⁹ for n names (below 10⁻²⁹ for a shard's 40,000): never, in practice.
type nameSet struct {
	seeds [2]maphash.Seed
	seen  map[[2]uint64]struct{}
}

func newNameSet() *nameSet {
	return &nameSet{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, seen: map[[2]uint64]struct{}{}}
}

// add records name and reports whether it was new.
func (s *nameSet) add(name string) bool {
	k := [2]uint64{maphash.String(s.seeds[0], name), maphash.String(s.seeds[1], name)}
	if _, dup := s.seen[k]; dup {
		return false
	}
	s.seen[k] = struct{}{}
	return true
}

func (s *nameSet) len() int { return len(s.seen) }

// reset empties the set and lets go of its memory.
func (s *nameSet) reset() { s.seen = map[[2]uint64]struct{}{} }

// spool is a shard's compressed users while the shard is listed, in a temporary file rather than
// in memory: an invocation holds Workers shards of up to MaxShardUsers users at once, so what it
// holds on the heap would grow with the shards (with the pool, up to the cap); on disk it takes
// about 100 bytes a user (Workers × 40,000 users: about 64 MB of Lambda's 512 MB of /tmp). The
// file is unlinked as soon as it is created (s3stream.TempFile), so nothing is left behind, even
// by a crash.
type spool struct {
	f *os.File
	w *bufio.Writer
}

func newSpool(dir string) (*spool, error) {
	f, err := s3stream.TempFile(dir, "shard-*.jsonl.gz")
	if err != nil {
		return nil, fmt.Errorf("spool a shard: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 32<<10)}, nil
}

func (s *spool) Write(p []byte) (int, error) { return s.w.Write(p) }

// copyTo writes everything spooled to w.
func (s *spool) copyTo(w io.Writer) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spool a shard: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("read a spooled shard: %w", err)
	}
	_, err := io.Copy(w, s.f)
	return err
}

// close releases the file, and with it its disk space.
func (s *spool) close() {
	if s != nil {
		s.f.Close()
	}
}

package importcsv

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
)

// Cognito's limits on one import file.
const (
	// MaxFileRows is the most users in one file ("This maximum doesn't include the header row").
	MaxFileRows = 500_000
	// MaxFileBytes is the largest file: "100 MB", taken as 100,000,000 bytes, the smaller reading.
	MaxFileBytes = 100_000_000
)

// Part describes one written file of an import. Each part is a complete import file, header
// included, for its own import job.
type Part struct {
	Number int    `json:"number"` // 1-based
	Rows   int    `json:"rows"`   // users, without the header
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // hex of the bytes written
}

// OpenPart opens the writer of part number n (1-based); the caller typically streams it to S3.
// Writer closes it when the part is full or the import ends.
type OpenPart func(n int) (io.WriteCloser, error)

// ErrFull is what Write returns, having written nothing, when the row would start a part beyond
// the Writer's MaxParts: the parts it wrote are complete, and a Writer resumed after them
// (Resume) takes the row.
var ErrFull = errors.New("import parts full")

// Writer writes accepted rows into parts that stay within Cognito's per-file limits, and
// rejects a username it has already written: cognito:username must be unique in the pool, so
// across every part of the import. It holds the set of usernames (only those a first pass found
// more than once after OnlyCandidates), nothing else per row.
type Writer struct {
	// MaxRows and MaxBytes bound each part; NewWriter sets Cognito's limits. A new part
	// starts before a row would exceed either (a part always takes at least one row).
	MaxRows  int
	MaxBytes int64
	// MaxParts, if set, is how many parts this Writer starts: the row that would start one more
	// gets ErrFull. A build continued over several invocations writes one part per Writer.
	MaxParts int

	t     *Target
	open  OpenPart
	seen  map[string]struct{}
	cands *Fingerprints // nil: every username is held
	parts []Part
	first int // number of the first part this Writer writes, less one

	cur    io.WriteCloser
	bw     *bufio.Writer
	sum    hash.Hash
	part   Part
	header []byte
	line   []byte
	closed bool
}

// NewWriter returns a Writer of t's rows that opens its parts with open.
func NewWriter(t *Target, open OpenPart) *Writer {
	return &Writer{
		MaxRows:  MaxFileRows,
		MaxBytes: MaxFileBytes,
		t:        t,
		open:     open,
		seen:     map[string]struct{}{},
		header:   appendLine(nil, t.Header),
	}
}

// Write writes r, which must have passed Check. A username already written comes back as a
// *RowError (duplicate_username) and the row is not written; other errors are the part's.
func (w *Writer) Write(r Row) error {
	if w.closed {
		return fmt.Errorf("write import row: writer closed")
	}
	user := w.t.Username(r)
	key := w.t.usernameKey(r)
	held := w.cands == nil || w.cands.candidate(key)
	if _, dup := w.seen[key]; held && dup {
		return &RowError{Line: r.Line, Username: user, Problem: Problem{Reason: ReasonDuplicateUsername, Column: ColUsername,
			Detail: "cognito:username appears earlier in this import"}}
	}
	w.line = appendLine(w.line[:0], r.Values)
	if w.cur != nil && (w.part.Rows+1 > w.MaxRows || w.part.Bytes+int64(len(w.line)) > w.MaxBytes) {
		if err := w.finish(); err != nil {
			return err
		}
	}
	if w.cur == nil && w.MaxParts > 0 && len(w.parts) >= w.MaxParts {
		return ErrFull
	}
	if w.cur == nil {
		if err := w.start(); err != nil {
			return err
		}
	}
	if err := w.write(w.line); err != nil {
		return err
	}
	w.part.Rows++
	if held {
		w.seen[key] = struct{}{}
	}
	return nil
}

// OnlyCandidates makes w hold only the usernames whose fingerprint fp found more than once:
// fp must come from Candidates over the same users, so every other username is known to be
// written once.
func (w *Writer) OnlyCandidates(fp *Fingerprints) { w.cands = fp }

// Resume makes w continue an import whose earlier Writers wrote parts 1..written and held the
// usernames held (their Held): its first part is number written+1, and a username they wrote is
// a duplicate here too.
func (w *Writer) Resume(written int, held []string) {
	w.first = written
	for _, k := range held {
		w.seen[k] = struct{}{}
	}
}

// Held is the set of usernames w holds (with OnlyCandidates, the repeated ones written so far),
// sorted: what a Writer resumed after it needs (Resume).
func (w *Writer) Held() []string { return slices.Sorted(maps.Keys(w.seen)) }

// Close ends the last part and returns every part written. An import with no accepted
// rows has no parts.
func (w *Writer) Close() ([]Part, error) {
	if w.closed {
		return w.parts, nil
	}
	w.closed = true
	if w.cur != nil {
		if err := w.finish(); err != nil {
			return w.parts, err
		}
	}
	return w.parts, nil
}

func (w *Writer) start() error {
	n := w.first + len(w.parts) + 1
	wc, err := w.open(n)
	if err != nil {
		return fmt.Errorf("open import part %d: %w", n, err)
	}
	w.cur = wc
	w.sum = sha256.New()
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(io.MultiWriter(wc, w.sum), 64<<10)
	} else {
		w.bw.Reset(io.MultiWriter(wc, w.sum))
	}
	w.part = Part{Number: n}
	return w.write(w.header)
}

func (w *Writer) write(b []byte) error {
	if _, err := w.bw.Write(b); err != nil {
		return fmt.Errorf("write import part %d: %w", w.part.Number, err)
	}
	w.part.Bytes += int64(len(b))
	return nil
}

func (w *Writer) finish() error {
	err := w.bw.Flush()
	if cerr := w.cur.Close(); err == nil {
		err = cerr
	}
	w.cur = nil
	if err != nil {
		return fmt.Errorf("finish import part %d: %w", w.part.Number, err)
	}
	w.part.SHA256 = hex.EncodeToString(w.sum.Sum(nil))
	w.parts = append(w.parts, w.part)
	return nil
}

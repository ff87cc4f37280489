// Package partition spreads records over hash buckets of gzip JSON-lines objects in S3, so that
// a join of two large files can be done a bounded bucket at a time.
package partition

import (
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"hash/fnv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// Of is the bucket of a value among n: a stable hash (FNV-1a 64), the same in every invocation.
func Of(value string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(value))
	return int(h.Sum64() % uint64(n))
}

// Writers stream records into n gzip JSON-lines objects, one per bucket. Each bucket's lines are
// spooled to a temporary file (Lambda's /tmp: a unit needs as much of it as it writes) and the files
// are uploaded on Close, so a unit's memory does not grow with the buckets it writes. They are work
// files, read once or twice: gzip's fastest level.
type Writers struct {
	ws []*s3stream.Spool
	lw []*snapshot.LineWriter
}

// uploads is how many spooled files Close uploads at once. An upload holds no part buffer (it
// sends sections of its file), so a few at once cost no memory and hide the round trips of the
// many small files a unit of a small pool writes.
const uploads = 4

// Open starts n objects, bucket i's at key(i). Nothing is visible until Close completes them.
func Open(ctx context.Context, store transfermanager.S3APIClient, bucket string, n int, key func(i int) string) *Writers {
	w := &Writers{}
	for i := range n {
		sw := s3stream.CreateSpool(ctx, store, bucket, key(i))
		w.ws = append(w.ws, sw)
		w.lw = append(w.lw, snapshot.NewLineWriterLevel(sw, gzip.BestSpeed))
	}
	return w
}

// Write writes v as one line of bucket i's object.
func (w *Writers) Write(i int, v any) error { return w.lw[i].Write(v) }

// WriteLine writes one record already encoded, a JSON value on one line, to bucket i's object.
func (w *Writers) WriteLine(i int, line []byte) error { return w.lw[i].WriteLine(line) }

// Close uploads every object, or none of them with err: a write that failed (a full /tmp) uploads
// nothing. An upload that fails stops the rest (the objects uploaded before it stay, whole).
// Every temporary file is removed either way.
func (w *Writers) Close(err error) error {
	if err == nil {
		for _, lw := range w.lw {
			err = errors.Join(err, lw.Close())
		}
	}
	if err != nil {
		for _, sw := range w.ws {
			sw.Abort()
		}
		return err
	}
	var (
		mu    sync.Mutex
		first error
		next  int
	)
	take := func() (*s3stream.Spool, bool) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil || next == len(w.ws) {
			return nil, false
		}
		next++
		return w.ws[next-1], true
	}
	var wg sync.WaitGroup
	for range min(uploads, len(w.ws)) {
		wg.Go(func() {
			for sw, ok := take(); ok; sw, ok = take() {
				if _, err := sw.Close(); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, sw := range w.ws[next:] {
		sw.Abort()
	}
	return first
}

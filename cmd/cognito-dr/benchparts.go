package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// benchPart is one part of `bench`: it prints its lines to w.
type benchPart struct {
	name string
	run  func(ctx context.Context, w io.Writer) error
}

// runLanes runs each lane's parts in order, the lanes side by side, and prints every part's
// lines to out whole as they come (never a line cut by another lane's), in each part's order.
// A part that fails ends its lane — as in a serial run, the parts after it do not run — and the
// other lanes run on to their end, so their measurements are not lost; the error names every
// failed part.
func runLanes(ctx context.Context, out io.Writer, lanes ...[]benchPart) error {
	var mu sync.Mutex
	errs := make([]error, len(lanes))
	var wg sync.WaitGroup
	for i, lane := range lanes {
		wg.Go(func() {
			for _, p := range lane {
				w := &lineWriter{mu: &mu, out: out}
				err := p.run(ctx, w)
				w.flush()
				if err != nil {
					errs[i] = fmt.Errorf("%s: %w", p.name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lineWriter passes whole lines to out under mu, keeping a partial line until its end comes.
type lineWriter struct {
	mu      *sync.Mutex
	out     io.Writer
	partial []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	end := bytes.LastIndexByte(l.partial, '\n')
	if end < 0 {
		return len(p), nil
	}
	l.mu.Lock()
	_, err := l.out.Write(l.partial[:end+1])
	l.mu.Unlock()
	l.partial = append(l.partial[:0], l.partial[end+1:]...)
	return len(p), err
}

// flush prints a last line left without its newline, ended.
func (l *lineWriter) flush() {
	if len(l.partial) > 0 {
		l.Write([]byte("\n"))
	}
}

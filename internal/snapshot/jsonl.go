package snapshot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// LineWriter writes records as gzip-compressed JSON lines.
type LineWriter struct {
	gz  *gzip.Writer
	enc *json.Encoder
	n   int
}

// NewLineWriter writes gzip JSON lines to w. Close flushes the gzip stream but does not close w.
func NewLineWriter(w io.Writer) *LineWriter { return NewLineWriterLevel(w, gzip.DefaultCompression) }

// NewLineWriterLevel is NewLineWriter at a gzip level: gzip.BestSpeed for work files read once or
// twice (about half the CPU of the default level, files about a quarter larger), never for snapshots.
func NewLineWriterLevel(w io.Writer, level int) *LineWriter {
	gz, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		panic(err) // a level that is not gzip's is a programming error
	}
	return &LineWriter{gz: gz, enc: json.NewEncoder(gz)}
}

// Write appends one record.
func (w *LineWriter) Write(v any) error {
	if err := w.enc.Encode(v); err != nil {
		return err
	}
	w.n++
	return nil
}

// WriteLine appends one record already encoded: line is one JSON value on one line (as Write
// writes it, without its newline), written as it is.
func (w *LineWriter) WriteLine(line []byte) error {
	if _, err := w.gz.Write(line); err != nil {
		return err
	}
	if _, err := w.gz.Write(newline); err != nil {
		return err
	}
	w.n++
	return nil
}

var newline = []byte{'\n'}

// Count is the number of records written.
func (w *LineWriter) Count() int { return w.n }

// Close flushes the compressed stream.
func (w *LineWriter) Close() error { return w.gz.Close() }

// ReadLines decodes gzip JSON lines from r into T, calling fn for each record in order.
func ReadLines[T any](r io.Reader, fn func(T) error) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("open gzip stream: %w", err)
	}
	defer gz.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(gz, 64<<10))
	for line := 1; ; line++ {
		var v T
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("record %d: %w", line, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
}

// ReadRawLines calls fn with each line of the gzip JSON-lines stream r, as it was written (without
// its newline; blank lines are skipped), in order: what ReadLines would decode, not decoded, for a
// reader that passes records through or needs only part of each. The slice is fn's only until it
// returns.
func ReadRawLines(r io.Reader, fn func(line []byte) error) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("open gzip stream: %w", err)
	}
	defer gz.Close()
	br := bufio.NewReaderSize(gz, 64<<10)
	var long []byte
	for line := 1; ; {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, b...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("record %d: %w", line, err)
		}
		if long != nil {
			b = append(long, b...)
			long = nil
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			if err := fn(t); err != nil {
				return err
			}
			line++
		}
		if err != nil {
			return nil
		}
	}
}

package importcsv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// appendLine appends vals as one CSV line with Cognito's escaping: a comma inside a value is
// written \, ("If an attribute value contains a comma, you must put a backslash (\) before
// the comma"); values are never quoted ("Attribute values that are strings should not be in
// quotation marks"). Values Check rejects as unrepresentable must not reach it.
func appendLine(dst []byte, vals []string) []byte {
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		for {
			j := strings.IndexByte(v, ',')
			if j < 0 {
				break
			}
			dst = append(dst, v[:j]...)
			dst = append(dst, '\\', ',')
			v = v[j+1:]
		}
		dst = append(dst, v...)
	}
	return append(dst, '\n')
}

// splitLine splits one line (without its line ending) at commas not escaped by a backslash,
// undoing appendLine. A backslash before anything but a comma is kept as is.
func splitLine(line []byte, dst []string) []string {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line) && line[i+1] == ',':
			b.WriteByte(',')
			i++
		case c == ',':
			dst = append(dst, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(dst, b.String())
}

// HeaderError rejects a whole file whose header is not the target pool's: Cognito requires
// every column of GetCSVHeader's header, and no others.
type HeaderError struct {
	Missing   []string // target columns the file lacks
	Extra     []string // file columns the target does not have
	Duplicate []string // file columns given more than once
	BOM       bool     // the file starts with a UTF-8 byte order mark
	Empty     bool     // the file has no header line
}

func (e *HeaderError) Error() string {
	var parts []string
	if e.Empty {
		parts = append(parts, "file is empty")
	}
	if e.BOM {
		parts = append(parts, "file starts with a byte order mark (Cognito wants UTF-8 without BOM)")
	}
	if len(e.Missing) > 0 {
		parts = append(parts, "missing columns: "+strings.Join(e.Missing, ", "))
	}
	if len(e.Extra) > 0 {
		parts = append(parts, "extra columns: "+strings.Join(e.Extra, ", "))
	}
	if len(e.Duplicate) > 0 {
		parts = append(parts, "duplicate columns: "+strings.Join(e.Duplicate, ", "))
	}
	return "import file header does not match the pool: " + strings.Join(parts, "; ")
}

// RowError is a problem with one row that does not stop the file: Reader returns it for a
// line it cannot split into the header's columns, Writer for a duplicate username.
type RowError struct {
	Line     int
	Username string
	Problem  Problem
}

func (e *RowError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Problem)
}

// maxLineBytes bounds how much of one line Reader holds: 16,000 characters of up to 4 bytes
// each, plus escapes. A longer line is rejected as row_too_long without being kept.
const maxLineBytes = 4*MaxRowChars + MaxRowChars

// Reader reads an import file back into rows of a target's header, honouring Cognito's
// escaping. Columns may come in any order ("The order of columns in the .csv file doesn't
// matter"); rows are returned in the target's order.
type Reader struct {
	t     *Target
	br    *bufio.Reader
	line  int
	order []int // order[i] is the target position of file column i
	buf   []byte
	vals  []string
	err   error
}

// NewReader reads r's header and checks it against t. A header that is not the pool's fails
// with a *HeaderError naming the missing and extra columns.
func NewReader(t *Target, r io.Reader) (*Reader, error) {
	rd := &Reader{t: t, br: bufio.NewReaderSize(r, 64<<10)}
	line, tooLong, err := rd.readLine()
	if err == io.EOF && len(line) == 0 {
		return nil, &HeaderError{Empty: true}
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read import file header: %w", err)
	}
	if tooLong {
		return nil, errors.New("read import file header: line too long")
	}
	herr := &HeaderError{}
	if bytes.HasPrefix(line, []byte("\xef\xbb\xbf")) {
		herr.BOM = true
		line = line[3:]
	}
	cols := strings.Split(string(line), ",")
	seen := map[string]bool{}
	for _, c := range cols {
		i, ok := t.index[c]
		switch {
		case seen[c]:
			herr.Duplicate = append(herr.Duplicate, c)
		case !ok:
			herr.Extra = append(herr.Extra, c)
		}
		seen[c] = true
		rd.order = append(rd.order, i)
	}
	for _, c := range t.Header {
		if !seen[c] {
			herr.Missing = append(herr.Missing, c)
		}
	}
	if herr.BOM || len(herr.Missing)+len(herr.Extra)+len(herr.Duplicate) > 0 {
		return nil, herr
	}
	if slices.IsSorted(rd.order) {
		rd.order = nil // the target's own order: no reordering needed.
	}
	rd.err = err
	return rd, nil
}

// Read returns the next row. A line that cannot be split into the header's columns, or that
// is far over Cognito's row limit, comes back as a *RowError, after which Read can go on.
// At the end of the file it returns io.EOF.
func (rd *Reader) Read() (Row, error) {
	if rd.err != nil {
		return Row{}, rd.err
	}
	line, tooLong, err := rd.readLine()
	if err != nil && err != io.EOF {
		rd.err = fmt.Errorf("read import file line %d: %w", rd.line, err)
		return Row{}, rd.err
	}
	rd.err = err // io.EOF: this is the last line
	if err == io.EOF && len(line) == 0 && !tooLong {
		return Row{}, io.EOF // nothing after the newline ending the last line
	}
	if tooLong {
		return Row{}, &RowError{Line: rd.line, Problem: Problem{Reason: ReasonRowTooLong,
			Detail: fmt.Sprintf("row is over %d bytes; Cognito allows %d characters", maxLineBytes, MaxRowChars)}}
	}
	rd.vals = splitLine(line, rd.vals[:0])
	if len(rd.vals) != len(rd.t.Header) {
		return Row{}, &RowError{Line: rd.line, Problem: Problem{Reason: ReasonBadColumnCount,
			Detail: fmt.Sprintf("row has %d values, header has %d columns", len(rd.vals), len(rd.t.Header))}}
	}
	vals := make([]string, len(rd.vals))
	if rd.order == nil {
		copy(vals, rd.vals)
	} else {
		for i, v := range rd.vals {
			vals[rd.order[i]] = v
		}
	}
	return Row{Line: rd.line, Values: vals}, nil
}

// readLine reads one line without its \n or \r\n, holding at most maxLineBytes of it.
func (rd *Reader) readLine() (line []byte, tooLong bool, err error) {
	rd.line++
	rd.buf = rd.buf[:0]
	for {
		chunk, err := rd.br.ReadSlice('\n')
		if !tooLong {
			if len(rd.buf)+len(chunk) > maxLineBytes+2 {
				tooLong = true
				rd.buf = rd.buf[:0]
			} else {
				rd.buf = append(rd.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(rd.buf, []byte("\n"))
		if len(line) < len(rd.buf) {
			line = bytes.TrimSuffix(line, []byte("\r"))
		}
		return line, tooLong, err
	}
}

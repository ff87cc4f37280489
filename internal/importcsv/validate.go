package importcsv

import (
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// Summary is the outcome of validating an import.
type Summary struct {
	Rows     int            `json:"rows"` // users or data lines seen
	Accepted int            `json:"accepted"`
	Rejected int            `json:"rejected"`
	ByReason map[string]int `json:"byReason"` // rejects by main reason; sums to Rejected
	Parts    []Part         `json:"parts"`
	// Dropped counts, by attribute name, the users whose attribute the target header has no
	// column for (ValidateUsers only; sub is never counted). Not a reason to reject.
	Dropped map[string]int `json:"dropped,omitempty"`
}

// ValidateUsers encodes each user with t.Row, checks the row with t.Check, writes accepted
// rows to w and rejects to report (which may be nil). It closes w. An error from users or
// from writing stops it; rejected users do not.
func ValidateUsers(t *Target, users iter.Seq2[snapshot.User, error], w *Writer, report *ReportWriter) (Summary, error) {
	v := newValidation(t, w, report)
	for u, err := range users {
		if err != nil {
			return v.abort(fmt.Errorf("validate users: read user %d: %w", v.sum.Rows+1, err))
		}
		for _, a := range t.Dropped(u) {
			if v.sum.Dropped == nil {
				v.sum.Dropped = map[string]int{}
			}
			v.sum.Dropped[a]++
		}
		if err := v.row(t.Row(u)); err != nil {
			return v.abort(fmt.Errorf("validate users: %w", err))
		}
	}
	return v.close()
}

// ValidateCSV reads an import file, checks each row with t.Check, writes accepted rows to w
// (in t's column order) and rejects to report (which may be nil). It closes w. A header
// that is not the pool's fails the whole file with a *HeaderError.
func ValidateCSV(t *Target, r io.Reader, w *Writer, report *ReportWriter) (Summary, error) {
	v := newValidation(t, w, report)
	rd, err := NewReader(t, r)
	if err != nil {
		return v.abort(fmt.Errorf("validate import file: %w", err))
	}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		var rerr *RowError
		if errors.As(err, &rerr) {
			v.sum.Rows++
			if err := v.reject(rejectOf(rerr.Line, rerr.Username, []Problem{rerr.Problem})); err != nil {
				return v.abort(fmt.Errorf("validate import file: %w", err))
			}
			continue
		}
		if err != nil {
			return v.abort(fmt.Errorf("validate import file: %w", err))
		}
		if err := v.row(row); err != nil {
			return v.abort(fmt.Errorf("validate import file: %w", err))
		}
	}
	return v.close()
}

type validation struct {
	t      *Target
	w      *Writer
	report *ReportWriter
	sum    Summary
}

func newValidation(t *Target, w *Writer, report *ReportWriter) *validation {
	return &validation{t: t, w: w, report: report, sum: Summary{ByReason: map[string]int{}}}
}

// row is the one path every row takes, from a user or from a file.
func (v *validation) row(r Row) error {
	v.sum.Rows++
	if ps := v.t.Check(r); len(ps) > 0 {
		return v.reject(rejectOf(r.Line, v.t.Username(r), ps))
	}
	err := v.w.Write(r)
	var rerr *RowError
	if errors.As(err, &rerr) {
		return v.reject(rejectOf(rerr.Line, rerr.Username, []Problem{rerr.Problem}))
	}
	if err != nil {
		return err
	}
	v.sum.Accepted++
	return nil
}

func (v *validation) reject(rj Reject) error {
	v.sum.Rejected++
	v.sum.ByReason[rj.Reason]++
	if v.report == nil {
		return nil
	}
	return v.report.Write(rj)
}

func (v *validation) close() (Summary, error) {
	parts, err := v.w.Close()
	v.sum.Parts = parts
	return v.sum, err
}

// abort closes w, so no part is left open, and returns err. The parts of an aborted
// validation are incomplete: callers must not import them.
func (v *validation) abort(err error) (Summary, error) {
	parts, _ := v.w.Close()
	v.sum.Parts = parts
	return v.sum, err
}

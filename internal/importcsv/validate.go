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
	v := NewValidator(t, w, report)
	for u, err := range users {
		if err != nil {
			return v.abort(fmt.Errorf("validate users: read user %d: %w", v.sum.Rows+1, err))
		}
		if err := v.User(u); err != nil {
			return v.abort(fmt.Errorf("validate users: %w", err))
		}
	}
	return v.close()
}

// Validator is ValidateUsers a user at a time, so that its caller may stop between two users
// and continue in another invocation with another Validator (see Writer.MaxParts and Resume).
type Validator struct{ *validation }

// NewValidator returns a Validator of users into w and report (which may be nil).
func NewValidator(t *Target, w *Writer, report *ReportWriter) *Validator {
	return &Validator{newValidation(t, w, report)}
}

// User validates one user as ValidateUsers does. ErrFull (w's MaxParts are written) leaves the
// user neither counted nor written: the next Validator takes it.
func (v *Validator) User(u snapshot.User) error {
	if err := v.row(v.t.Row(u)); err != nil {
		return err
	}
	for _, a := range v.t.Dropped(u) {
		if v.sum.Dropped == nil {
			v.sum.Dropped = map[string]int{}
		}
		v.sum.Dropped[a]++
	}
	return nil
}

// Close closes the writer and returns the summary of the users validated.
func (v *Validator) Close() (Summary, error) { return v.close() }

// Add adds the counts and parts of o, validated after s, to s.
func (s *Summary) Add(o Summary) {
	s.Rows += o.Rows
	s.Accepted += o.Accepted
	s.Rejected += o.Rejected
	for k, n := range o.ByReason {
		if s.ByReason == nil {
			s.ByReason = map[string]int{}
		}
		s.ByReason[k] += n
	}
	for k, n := range o.Dropped {
		if s.Dropped == nil {
			s.Dropped = map[string]int{}
		}
		s.Dropped[k] += n
	}
	s.Parts = append(s.Parts, o.Parts...)
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
	if ps := v.t.Check(r); len(ps) > 0 {
		v.sum.Rows++
		return v.reject(rejectOf(r.Line, v.t.Username(r), ps))
	}
	err := v.w.Write(r)
	if errors.Is(err, ErrFull) {
		return err
	}
	v.sum.Rows++
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

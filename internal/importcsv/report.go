package importcsv

import (
	"encoding/json"
	"fmt"
	"io"
)

// Reject is one user left out of an import, as written to the reject report. It names the
// user only by cognito:username and the line: no other user data goes into a report.
type Reject struct {
	Line     int    `json:"line"` // line in the file; 0 when the user came from a snapshot
	Username string `json:"username"`
	Reason   string `json:"reason"` // the row's main reason code
	Detail   string `json:"detail"`
	// Also lists the row's further reason codes, if any.
	Also []string `json:"also,omitempty"`
}

// rejectOf builds the reject of a row from its problems (the first is the main one).
func rejectOf(line int, user string, ps []Problem) Reject {
	rj := Reject{Line: line, Username: user, Reason: ps[0].Reason, Detail: ps[0].Detail}
	for _, p := range ps[1:] {
		rj.Also = append(rj.Also, p.Reason)
	}
	return rj
}

// ReportWriter writes rejects as JSON lines and counts them by reason.
type ReportWriter struct {
	enc    *json.Encoder
	counts map[string]int
}

// NewReportWriter returns a ReportWriter that writes to w.
func NewReportWriter(w io.Writer) *ReportWriter {
	return &ReportWriter{enc: json.NewEncoder(w), counts: map[string]int{}}
}

// Write writes one reject.
func (r *ReportWriter) Write(rj Reject) error {
	if err := r.enc.Encode(rj); err != nil {
		return fmt.Errorf("write reject report: %w", err)
	}
	r.counts[rj.Reason]++
	return nil
}

// Counts returns how many rejects of each main reason were written.
func (r *ReportWriter) Counts() map[string]int {
	out := make(map[string]int, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

// ReadReport reads a reject report written by ReportWriter, calling fn for each reject in order.
func ReadReport(r io.Reader, fn func(Reject) error) error {
	dec := json.NewDecoder(r)
	for n := 1; ; n++ {
		var rj Reject
		if err := dec.Decode(&rj); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reject report record %d: %w", n, err)
		}
		if err := fn(rj); err != nil {
			return err
		}
	}
}

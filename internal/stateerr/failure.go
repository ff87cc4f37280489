package stateerr

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Caught is the error object a Catch puts at its ResultPath: the error name and its cause. For a
// Lambda task the cause is the runtime's JSON ({"errorMessage": ..., "errorType": ...}).
type Caught struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Message is the cause as an operator should read it: the Lambda error message when the cause
// is the runtime's JSON, else the cause as given.
func (c *Caught) Message() string {
	if c == nil {
		return ""
	}
	var lambdaErr struct {
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(c.Cause), &lambdaErr) == nil && lambdaErr.Message != "" {
		return lambdaErr.Message
	}
	return c.Cause
}

// Changes locates what a run wrote before it failed: its ledgers and reports under
// s3://Bucket/Prefix. A failure notification carries it only when the run had begun to change a
// user pool (the state machine's FailureDirty path); without it, nothing was changed.
type Changes struct {
	Bucket string `json:"bucket"`
	Region string `json:"region"`
	Prefix string `json:"prefix"`
}

// Story is the sentence that tells an operator what a failure left behind: nothing, when
// changes is nil, or which files under the run's prefix record what was done.
func Story(changes *Changes, pool string, records ...string) string {
	if changes == nil {
		return fmt.Sprintf("Nothing was changed: the run failed before its first write to %s.", pool)
	}
	s := fmt.Sprintf("Changes were made before the failure: %s was partly changed. What was done is recorded under s3://%s/%s (%s)",
		pool, changes.Bucket, changes.Prefix, changes.Region)
	if len(records) > 0 {
		s += ": " + strings.Join(records, ", ")
	}
	// Ledgers are written a chunk at a time: the chunk in progress when the failure came may be
	// partly applied and not yet recorded.
	return s + ". The chunk in progress when the failure came may be partly applied without a record."
}

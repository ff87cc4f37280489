// Package importjob takes import CSV parts through Cognito import jobs, one part at a time, for
// any workflow that imports users (failback, restore): create the job and upload the part, start
// it once the account's only import slot is free, poll it, and read its per-row results from
// CloudWatch Logs, re-reading while rows lack a line and reporting the rest as result-unknown.
// The state machines drive it with Wait + Choice loops (never a sleep in a Lambda); the same
// task functions serve every state machine. It also creates by API the users an import refuses
// only for an unverified contact.
package importjob

import (
	"time"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
)

// Target is where a run imports its parts and keeps its files. A workflow builds it once (in
// its plan) and passes it to every part.
type Target struct {
	// UserPoolID and Region name the pool the users are imported into.
	UserPoolID string `json:"userPoolId"`
	Region     string `json:"region"`
	// PoolName is the pool's name: Cognito names the import log group after it.
	PoolName string `json:"poolName"`
	// Bucket and BucketRegion hold the parts and the results.
	Bucket       string `json:"bucket"`
	BucketRegion string `json:"bucketRegion"`
	// Prefix (ending in "/") is the run's prefix; results go under Prefix + ResultsDir.
	Prefix string `json:"prefix"`
	// JobPrefix names each part's job <JobPrefix>-<number, 4 digits>, so an operator can find
	// the run's jobs in the console.
	JobPrefix string `json:"jobPrefix"`
}

// ResultsDir is where, under Target.Prefix, each part's row results go (<number>.jsonl.gz).
const ResultsDir = "import-results/"

// PartInput is one CSV part's trip through an import job (an item of an import Map).
type PartInput struct {
	Target Target        `json:"target"`
	Part   csvbuild.Part `json:"part"`
	// Number is the part's 1-based position, which names its job.
	Number int `json:"number"`
	// Job is set once the job exists.
	Job *Job `json:"job,omitempty"`
	// Results is the previous read of the job's row results, while they are incomplete.
	Results *Results `json:"results,omitempty"`
}

// Job is an import job's state as the workflow tracks it.
type Job struct {
	JobID  string `json:"jobId"`
	Name   string `json:"name"`
	Status string `json:"status"`
	// Started is false while another import job holds the account's only slot.
	Started bool `json:"started"`
	// BusySince is when StartImport first found the slot busy (bounded by SlotTimeout).
	BusySince *time.Time `json:"busySince,omitempty"`
	Imported  int        `json:"imported"`
	Skipped   int        `json:"skipped"`
	Failed    int        `json:"failed"`
	// Done is true once the job reached Succeeded, Failed, Stopped or Expired.
	Done    bool   `json:"done"`
	Message string `json:"message,omitempty"`
}

// Results are the per-row outcomes of one part's job.
type Results struct {
	Key      string `json:"key"`
	Imported int    `json:"imported"`
	Skipped  int    `json:"skipped"`
	Failed   int    `json:"failed"`
	// Unknown counts rows with no result in the job's log (yet): reported as result-unknown.
	Unknown int `json:"unknown"`
	// Attempt is how many times the log has been read; Final is false while rows lack a result
	// and the state machine should wait and read again.
	Attempt int  `json:"attempt"`
	Final   bool `json:"final"`
}

// RowResult is what happened to one row of an import file, one JSON line of a results file.
type RowResult struct {
	Line     int    `json:"line"`
	Username string `json:"username"`
	Outcome  string `json:"outcome"`
	Message  string `json:"message,omitempty"`
}

// Row outcomes.
const (
	RowImported     = "imported"
	RowSkipped      = "skipped"
	RowFailed       = "failed"
	RowNotProcessed = "not-processed"
	// RowResultUnknown is a row the job's log has no line for after every read: Cognito may have
	// imported it or not, so it is neither counted imported nor failed.
	RowResultUnknown = "result-unknown"
)

package failback

import (
	"github.com/cognito-dr/cognito-dr/internal/importjob"
)

// The import of a failback's CSV parts is internal/importjob's, shared with restore: the same
// task functions serve both state machines. These names keep failback's vocabulary.
type (
	// ImportPartInput is one CSV part's trip through an import job.
	ImportPartInput = importjob.PartInput
	// Job is an import job's state as the workflow tracks it.
	Job = importjob.Job
	// ImportResults are the per-row outcomes of one part's job.
	ImportResults = importjob.Results
	// RowResult is what happened to one row of an import file.
	RowResult = importjob.RowResult
)

// Row outcomes of an import file (see importjob).
const (
	RowImported      = importjob.RowImported
	RowSkipped       = importjob.RowSkipped
	RowFailed        = importjob.RowFailed
	RowNotProcessed  = importjob.RowNotProcessed
	RowResultUnknown = importjob.RowResultUnknown
	// ImportResultReads is how many times a job's log is read before its silent rows are
	// result-unknown.
	ImportResultReads = importjob.ResultReads
	// ImportSlotTimeout bounds the wait for the account's only import slot.
	ImportSlotTimeout = importjob.SlotTimeout
)

// The import tasks of failback.asl.json (see importjob).
var (
	UploadImportTask         = importjob.UploadImportTask
	StartImportTask          = importjob.StartImportTask
	PollImportTask           = importjob.PollImportTask
	CollectImportResultsTask = importjob.CollectImportResultsTask
)

// importTarget is where a failback imports its parts: the primary pool, the plan's files, jobs
// named after the execution.
func importTarget(p Plan, executionName string) importjob.Target {
	return importjob.Target{
		UserPoolID: p.Request.PrimaryUserPoolID, Region: p.Request.PrimaryRegion, PoolName: p.PrimaryName,
		Bucket: p.Bucket, BucketRegion: p.Region, Prefix: p.Prefix,
		JobPrefix: "cognito-dr-failback-" + executionName,
	}
}

// importer is the import steps on the failback's clients, built at each call so a change to s
// (a test's HTTP client) is seen.
func (s *Steps) importer() *importjob.Steps {
	return &importjob.Steps{
		Cognito:     func(region string) importjob.Cognito { return s.Cognito(region) },
		S3:          func(region string) importjob.S3 { return s.S3(region) },
		Logs:        func(region string) importjob.Logs { return s.Logs(region) },
		HTTP:        s.HTTP,
		LogsRoleArn: s.ImportLogsRoleArn,
		Quota:       s.Quota,
		Now:         s.Now,
	}
}

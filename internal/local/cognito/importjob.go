package cognito

import (
	"cmp"
	crand "crypto/rand"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// LogSink receives the per-row results of import jobs, which Cognito writes only to CloudWatch
// Logs, in the pool's Region. The group and stream are created on first use, as Cognito's
// logging role does. Implementations must be safe for concurrent use.
type LogSink interface {
	PutLogEvent(region, group, stream string, t time.Time, message string)
}

// DefaultImportStartDelay is how long a started import job stays Pending unless
// Options.ImportStartDelay says otherwise.
const DefaultImportStartDelay = 200 * time.Millisecond

// Import job statuses, as UserImportJobStatusType names them.
const (
	jobCreated    = string(types.UserImportJobStatusTypeCreated)
	jobPending    = string(types.UserImportJobStatusTypePending)
	jobInProgress = string(types.UserImportJobStatusTypeInProgress)
	jobStopping   = string(types.UserImportJobStatusTypeStopping)
	jobStopped    = string(types.UserImportJobStatusTypeStopped)
	jobSucceeded  = string(types.UserImportJobStatusTypeSucceeded)
	jobFailed     = string(types.UserImportJobStatusTypeFailed)
	jobExpired    = string(types.UserImportJobStatusTypeExpired)
)

const (
	// importJobTTL: AWS expires an unstarted job after 24-48 hours; the emulator uses the lower bound.
	importJobTTL = 24 * time.Hour
	// importURLTTL is the life of the PreSignedUrl (X-Amz-Expires=900).
	importURLTTL = 15 * time.Minute
	// maxImportFile is AWS's 100 MB limit on the CSV file.
	maxImportFile = 100 << 20
)

// Completion messages. AWS documents only the whole-job failure wording; the others are the
// emulator's own.
const (
	msgTooManyFailed = "Too many users have failed or been skipped during the import."
	msgSucceeded     = "Import Job Completed Successfully."
	msgStopped       = "Import Job Stopped."
	msgNoFile        = "The CSV file was not uploaded or could not be read."
	msgPoolDeleted   = "The user pool has been deleted."
)

var (
	jobIDPattern   = regexp.MustCompile(`^import-[0-9a-zA-Z-]+$`)
	jobNamePattern = regexp.MustCompile(`^[\w\s+=,.@-]+$`)
	arnPattern     = regexp.MustCompile(`^arn:[\w+=/,.@-]+:[\w+=/,.@-]+:([\w+=/,.@-]*)?:[0-9]+:[\w+=/,.@-]+(:[\w+=/,.@-]+)?(:[\w+=/,.@-]+)?$`)
	roleARNPattern = regexp.MustCompile(`^arn:aws[\w-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
)

// imports holds the account's import jobs. Its lock guards every job's fields.
type imports struct {
	startDelay, rowDelay time.Duration
	sink                 LogSink
	urlKey               []byte // signs PreSignedUrls so they cannot be forged

	mu        sync.Mutex
	publicURL string
	seq       uint64
	jobs      map[string]*importJob
	// busyCode is the exception StartUserImportJob answers while another job is active
	// (SetImportBusyError); failLimit ends a job Failed once more rows failed (SetImportFailLimit).
	busyCode  string
	failLimit int
}

func (im *imports) init(opts Options) {
	im.startDelay = opts.ImportStartDelay
	if im.startDelay == 0 {
		im.startDelay = DefaultImportStartDelay
	}
	im.rowDelay = opts.ImportRowDelay
	im.sink = opts.LogSink
	im.urlKey = make([]byte, 32)
	_, _ = crand.Read(im.urlKey)
	im.jobs = map[string]*importJob{}
}

type importJob struct {
	seq                      uint64
	id, name, poolID, region string
	poolName, roleARN        string
	created                  time.Time
	started, completed       time.Time
	status                   string
	imported, skipped        int64
	failed                   int64
	message                  string
	file                     []byte
	uploaded                 bool
	stop                     chan struct{} // closed by StopUserImportJob
}

// importJobJSON is UserImportJobType on the wire.
type importJobJSON struct {
	JobName               string
	JobId                 string
	UserPoolId            string
	PreSignedUrl          string
	CreationDate          float64
	StartDate             *float64 `json:",omitempty"`
	CompletionDate        *float64 `json:",omitempty"`
	Status                string
	CloudWatchLogsRoleArn string
	ImportedUsers         int64
	SkippedUsers          int64
	FailedUsers           int64
	CompletionMessage     string `json:",omitempty"`
}

func optEpoch(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	v := epoch(t)
	return &v
}

// toJSON renders j; the caller holds im.mu.
func (im *imports) toJSON(j *importJob) importJobJSON {
	return importJobJSON{
		JobName:               j.name,
		JobId:                 j.id,
		UserPoolId:            j.poolID,
		PreSignedUrl:          im.presign(j.id, j.created),
		CreationDate:          epoch(j.created),
		StartDate:             optEpoch(j.started),
		CompletionDate:        optEpoch(j.completed),
		Status:                j.status,
		CloudWatchLogsRoleArn: j.roleARN,
		ImportedUsers:         j.imported,
		SkippedUsers:          j.skipped,
		FailedUsers:           j.failed,
		CompletionMessage:     j.message,
	}
}

// expire marks an unstarted job Expired once its time is up, dropping its file as AWS deletes
// the job's data. The caller holds im.mu.
func (j *importJob) expire(now time.Time) {
	if j.status == jobCreated && now.Sub(j.created) >= importJobTTL {
		j.status = jobExpired
		j.file = nil
	}
}

// job finds a pool's job; the caller holds im.mu.
func (im *imports) job(poolID, jobID string, now time.Time) (*importJob, error) {
	j := im.jobs[jobID]
	if j == nil || j.poolID != poolID {
		return nil, newError("ResourceNotFoundException", "Import job %s does not exist in user pool %s.", jobID, poolID)
	}
	j.expire(now)
	return j, nil
}

func requireJobID(id *string) (string, error) {
	if id == nil || *id == "" {
		return "", errNull("jobId")
	}
	if len(*id) > 55 || !jobIDPattern.MatchString(*id) {
		return "", errInvalidParameter("1 validation error detected: Value '%s' at 'jobId' failed to satisfy constraint: Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+", *id)
	}
	return *id, nil
}

func (e *Emulator) createUserImportJob(region string, body []byte) (any, error) {
	var in cip.CreateUserImportJobInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.JobName)
	switch {
	case in.JobName == nil:
		return nil, errNull("jobName")
	case name == "" || len(name) > 128 || !jobNamePattern.MatchString(name):
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+", name)
	}
	role := aws.ToString(in.CloudWatchLogsRoleArn)
	switch {
	case in.CloudWatchLogsRoleArn == nil:
		return nil, errNull("cloudWatchLogsRoleArn")
	case len(role) < 20 || len(role) > 2048 || !arnPattern.MatchString(role):
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'cloudWatchLogsRoleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[\\w+=/,.@-]+:[\\w+=/,.@-]+:([\\w+=/,.@-]*)?:[0-9]+:[\\w+=/,.@-]+(:[\\w+=/,.@-]+)?(:[\\w+=/,.@-]+)?", role)
	case !roleARNPattern.MatchString(role):
		// AWS's pattern accepts any ARN; Cognito must assume the role, so only an IAM role can work.
		return nil, errInvalidParameter("CloudWatchLogsRoleArn %s is not an IAM role ARN.", role)
	}
	p.mu.RLock()
	poolName := aws.ToString(p.cfg.PoolName)
	p.mu.RUnlock()
	now := e.now()
	j := &importJob{name: name, poolID: p.id, region: region, poolName: poolName, roleARN: role, created: now, status: jobCreated}
	e.imports.mu.Lock()
	defer e.imports.mu.Unlock()
	for {
		j.id = "import-" + e.randomAlnum(10)
		if e.imports.jobs[j.id] == nil {
			break
		}
	}
	e.imports.seq++
	j.seq = e.imports.seq
	e.imports.jobs[j.id] = j
	return map[string]any{"UserImportJob": e.imports.toJSON(j)}, nil
}

func (e *Emulator) describeUserImportJob(region string, body []byte) (any, error) {
	var in cip.DescribeUserImportJobInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	id, err := requireJobID(in.JobId)
	if err != nil {
		return nil, err
	}
	e.imports.mu.Lock()
	defer e.imports.mu.Unlock()
	j, err := e.imports.job(p.id, id, e.now())
	if err != nil {
		return nil, err
	}
	return map[string]any{"UserImportJob": e.imports.toJSON(j)}, nil
}

func (e *Emulator) listUserImportJobs(region string, body []byte) (any, error) {
	var in cip.ListUserImportJobsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if in.MaxResults == nil {
		return nil, errNull("maxResults")
	}
	if err := checkRange("maxResults", *in.MaxResults, 1, 60); err != nil {
		return nil, err
	}
	now := e.now()
	e.imports.mu.Lock()
	defer e.imports.mu.Unlock()
	var jobs []*importJob
	for _, j := range e.imports.jobs {
		if j.poolID == p.id {
			j.expire(now)
			jobs = append(jobs, j)
		}
	}
	// Newest first, as every AWS example lists them (the order is not documented).
	slices.SortFunc(jobs, func(a, b *importJob) int { return cmp.Compare(b.seq, a.seq) })
	start := 0
	if t := aws.ToString(in.PaginationToken); t != "" {
		// The token is the last job id returned; a token naming no job of this pool is refused.
		i := slices.IndexFunc(jobs, func(j *importJob) bool { return j.id == t })
		if i < 0 {
			return nil, errInvalidParameter("Invalid pagination token.")
		}
		start = i + 1
	}
	end := min(start+int(*in.MaxResults), len(jobs))
	out := struct {
		UserImportJobs  []importJobJSON
		PaginationToken string `json:",omitempty"`
	}{UserImportJobs: []importJobJSON{}}
	for _, j := range jobs[start:end] {
		out.UserImportJobs = append(out.UserImportJobs, e.imports.toJSON(j))
	}
	if end < len(jobs) {
		out.PaginationToken = jobs[end-1].id
	}
	return out, nil
}

func (e *Emulator) startUserImportJob(region string, body []byte) (any, error) {
	var in cip.StartUserImportJobInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	id, err := requireJobID(in.JobId)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	autoVerified := len(p.cfg.AutoVerifiedAttributes) > 0
	p.mu.RUnlock()
	now := e.now()
	e.imports.mu.Lock()
	defer e.imports.mu.Unlock()
	j, err := e.imports.job(p.id, id, now)
	if err != nil {
		return nil, err
	}
	if j.status != jobCreated {
		return nil, newError("PreconditionNotMetException", "Import job %s cannot be started: its status is %s.", j.id, j.status)
	}
	for _, other := range e.imports.jobs {
		switch other.status {
		case jobPending, jobInProgress, jobStopping:
			code := e.imports.busyCode
			if code == "" {
				code = "PreconditionNotMetException"
			}
			return nil, newError(code, "Only one import job can be active at a time in an account: %s is %s.", other.id, other.status)
		}
	}
	if !autoVerified {
		// "If the user pool has no auto-verified attributes, the import job will not start."
		return nil, newError("PreconditionNotMetException", "The user pool %s has no auto-verified attributes, so users cannot be imported.", p.id)
	}
	j.status = jobPending
	j.started = now
	j.stop = make(chan struct{})
	go e.runImport(p, j)
	return map[string]any{"UserImportJob": e.imports.toJSON(j)}, nil
}

func (e *Emulator) stopUserImportJob(region string, body []byte) (any, error) {
	var in cip.StopUserImportJobInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	id, err := requireJobID(in.JobId)
	if err != nil {
		return nil, err
	}
	e.imports.mu.Lock()
	defer e.imports.mu.Unlock()
	j, err := e.imports.job(p.id, id, e.now())
	if err != nil {
		return nil, err
	}
	switch j.status {
	case jobPending, jobInProgress:
		j.status = jobStopping
		close(j.stop)
	case jobStopping:
	default:
		return nil, newError("PreconditionNotMetException", "Import job %s cannot be stopped: its status is %s.", j.id, j.status)
	}
	return map[string]any{"UserImportJob": e.imports.toJSON(j)}, nil
}

// wait sleeps for d unless the job is stopped first; it reports whether the job may go on.
func wait(d time.Duration, stop <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// runImport takes a started job through Pending and InProgress to its end. Rows are processed
// one at a time under the pool lock, so readers see the import advance row by row.
func (e *Emulator) runImport(p *pool, j *importJob) {
	im := &e.imports
	if !wait(im.startDelay, j.stop) {
		e.finishImport(j, jobStopped, msgStopped)
		return
	}
	im.mu.Lock()
	if j.status == jobStopping {
		im.mu.Unlock()
		e.finishImport(j, jobStopped, msgStopped)
		return
	}
	j.status = jobInProgress
	file, uploaded := j.file, j.uploaded
	im.mu.Unlock()

	if !uploaded {
		e.finishImport(j, jobFailed, msgNoFile)
		return
	}
	rows, fail := p.parseImportFile(file)
	if fail != "" {
		e.finishImport(j, jobFailed, truncate(fail, 128))
		return
	}
	group := "/aws/cognito/userpools/" + j.poolID + "/" + j.poolName
	stream := j.id + "/" + j.name
	for _, row := range rows {
		if !wait(0, j.stop) {
			e.finishImport(j, jobStopped, msgStopped)
			return
		}
		if !e.poolExists(p) {
			e.finishImport(j, jobFailed, msgPoolDeleted)
			return
		}
		outcome, reason := e.importRow(p, row)
		im.mu.Lock()
		switch outcome {
		case rowSucceeded:
			j.imported++
		case rowSkipped:
			j.skipped++
		default:
			j.failed++
		}
		im.mu.Unlock()
		if im.sink != nil {
			im.sink.PutLogEvent(j.region, group, stream, e.now(), logLine(outcome, row.line, reason))
		}
		im.mu.Lock()
		over := im.failLimit > 0 && j.failed >= int64(im.failLimit)
		im.mu.Unlock()
		if over {
			// As reported on AWS: the job ends Failed, the users it imported stay imported and
			// the rows after this one are not processed (no log line).
			e.finishImport(j, jobFailed, msgTooManyFailed)
			return
		}
		if !wait(im.rowDelay, j.stop) {
			e.finishImport(j, jobStopped, msgStopped)
			return
		}
	}
	im.mu.Lock()
	// The documented whole-job failure, "Too many users have failed or been skipped", has no
	// published threshold. The emulator's: the job fails when no row was imported and at least
	// one failed. A file whose users all exist already is a successful no-op, so re-running a
	// restore is safe.
	tooMany := j.imported == 0 && j.failed > 0
	im.mu.Unlock()
	if tooMany {
		e.finishImport(j, jobFailed, msgTooManyFailed)
		return
	}
	e.finishImport(j, jobSucceeded, msgSucceeded)
}

// SetImportBusyError sets the exception code StartUserImportJob answers while another import job
// is active in the account. AWS documents the rule but not the exception; the default is
// PreconditionNotMetException, the documented code for "a precondition is not met". Empty
// restores the default.
func (e *Emulator) SetImportBusyError(code string) {
	e.imports.mu.Lock()
	defer e.imports.mu.Unlock()
	e.imports.busyCode = code
}

// SetImportFailLimit makes an import job end Failed ("Too many users have failed or been
// skipped during the import.") as soon as n rows have failed, keeping the users it imported
// before and leaving later rows unprocessed, as public reports show AWS doing; AWS publishes no
// threshold. 0 turns it off.
func (e *Emulator) SetImportFailLimit(n int) {
	e.imports.mu.Lock()
	defer e.imports.mu.Unlock()
	e.imports.failLimit = max(n, 0)
}

func (e *Emulator) finishImport(j *importJob, status, message string) {
	e.imports.mu.Lock()
	defer e.imports.mu.Unlock()
	j.status = status
	j.message = message
	j.completed = e.now()
	j.file = nil
}

func (e *Emulator) poolExists(p *pool) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.pools[p.id] == p
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

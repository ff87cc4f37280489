// Package failback is the approval-gated failback workflow: after the primary Region recovers,
// the users created or changed in the DR pool go back to the primary — by Cognito import jobs for
// new users and API calls for changes — only after a human approves; then the DR users are
// disabled, and a report says what happened to every user. These are the JSON contracts that
// cross the boundary of statemachines/failback.asl.json and the steps its tasks run.
package failback

import (
	"time"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
	"github.com/cognito-dr/cognito-dr/internal/worklist"
)

// Request is the execution input, started from the console by an operator.
type Request struct {
	// PrimaryUserPoolID and PrimaryRegion name the recovered primary pool (e.g. Tokyo).
	PrimaryUserPoolID string `json:"primaryUserPoolId"`
	PrimaryRegion     string `json:"primaryRegion"`
	// DRUserPoolID and DRRegion name the pool users signed in to during the outage (e.g. Osaka).
	DRUserPoolID string `json:"drUserPoolId"`
	DRRegion     string `json:"drRegion"`
	// Bucket and BucketRegion hold the plan, the import files and the report.
	Bucket       string `json:"bucket"`
	BucketRegion string `json:"bucketRegion"`
	// FailoverTime (RFC 3339) is when traffic moved to the DR pool: DR users changed after it
	// carry changes the primary does not have.
	FailoverTime string `json:"failoverTime"`
	// ApplyDisables mirrors to the primary the users disabled in the DR pool whose primary user
	// is enabled (other than those an earlier failback disabled). Off by default: they are reported.
	ApplyDisables bool `json:"applyDisables,omitempty"`
	// GlobalSignOut also calls AdminUserGlobalSignOut for each DR user after disabling it.
	// AdminDisableUser already revokes the user's access tokens and a disabled user cannot refresh,
	// so this doubles the UserUpdate calls (25/s per account) for no extra effect; it is for
	// auditors who want the explicit call.
	GlobalSignOut bool `json:"globalSignOut,omitempty"`
	// ApprovalTimeoutSeconds bounds the wait for the approver; default 86400 (one day).
	ApprovalTimeoutSeconds int `json:"approvalTimeoutSeconds,omitempty"`
	// Prefix is the key prefix of failback files; default "cognito-dr/failback".
	Prefix string `json:"prefix,omitempty"`
	// FencedMessage is what the DR pool's users are told once the failback fences it, right after
	// the approval: where to sign in now. Default DefaultFencedMessage.
	FencedMessage string `json:"fencedMessage,omitempty"`
	// ApprovalMarginUsers and ApprovalMarginPercent bound how far the final plan (taken after the
	// fence) may go beyond the approved one without asking again: the changes it has that the
	// approved plan did not (users to import, updates, memberships, disables) may number at most
	// the larger of the two, the percent taken of the approved plan's changes. Defaults 10 and 1;
	// 0 and 0 ask again whenever the final plan has anything new.
	ApprovalMarginUsers   *int     `json:"approvalMarginUsers,omitempty"`
	ApprovalMarginPercent *float64 `json:"approvalMarginPercent,omitempty"`
	// FinalApprovalTimeoutSeconds bounds the wait for a second approval. The DR pool is fenced
	// meanwhile and the primary not yet active, so nobody can sign in: default 3600 (one hour).
	FinalApprovalTimeoutSeconds int `json:"finalApprovalTimeoutSeconds,omitempty"`
}

// DefaultFencedMessage is what the fenced DR pool's users are told when the request names nothing.
const DefaultFencedMessage = "This service is back in its primary Region. Please sign in through its usual address."

// Defaults of the final plan's margin and second approval.
const (
	DefaultApprovalMarginUsers   = 10
	DefaultApprovalMarginPercent = 1.0
	DefaultFinalApprovalTimeout  = time.Hour
)

// DefaultPrefix is where failback files go when the request names no prefix.
const DefaultPrefix = "cognito-dr/failback"

// DefaultApprovalTimeout is the wait for the approver when the request names none.
const DefaultApprovalTimeout = 24 * time.Hour

// PlanInput is what the PreparePlan and PrepareFinalPlan states pass.
type PlanInput struct {
	Request       Request `json:"request"`
	ExecutionName string  `json:"executionName"`
	StartTime     string  `json:"startTime"`
	// Approved is the approved plan when this is the final plan, taken after the DR pool was
	// fenced (PrepareFinalPlan): the same planner on fresh exports, its files under FinalDir.
	Approved *Plan `json:"approved,omitempty"`
}

// ExportInput is what the ExportPools and ExportFinalPools states pass: ExportPools exports both
// pools under the plan's prefix, one time budget per invocation, until Progress.Done.
type ExportInput struct {
	Plan     Plan           `json:"plan"`
	Progress ExportProgress `json:"progress"`
}

// ExportProgress is the cursor of an export loop: both pools' resumable exports, each with its
// checkpoint in S3.
type ExportProgress struct {
	Done    bool             `json:"done"`
	Primary export.PoolState `json:"primary"`
	DR      export.PoolState `json:"dr"`
	// Invocations counts the ExportPools invocations of the loop.
	Invocations int `json:"invocations"`
}

// PlanExportsInput is what the PlanFailback and PlanFinalDelta states pass: the prepared plan,
// its finished exports and the loop's cursor.
type PlanExportsInput struct {
	Plan     Plan           `json:"plan"`
	Export   ExportProgress `json:"export"`
	Progress PlanProgress   `json:"progress"`
}

// PlanProgress is the cursor of a plan loop (PlanFailback, PlanFinalDelta): the next of the
// plan's units, bucket by bucket. Once Done, Plan is the plan with its counts: what the later
// states read.
type PlanProgress struct {
	Done  bool `json:"done"`
	Next  int  `json:"next"`
	Units int  `json:"units"`
	// Invocations counts the loop's invocations.
	Invocations int   `json:"invocations"`
	Plan        *Plan `json:"plan,omitempty"`
}

// Plan locates a failback's files and carries the decisions later states need. It travels in
// the state, so it holds keys and counts, never users.
type Plan struct {
	Request Request `json:"request"`
	// Bucket, Region and Prefix locate every file of this failback; Prefix ends in "/".
	Bucket string `json:"bucket"`
	Region string `json:"region"`
	Prefix string `json:"prefix"`
	// PrimaryName is the primary pool's name, for messages.
	PrimaryName string `json:"primaryName"`
	// UsernameAttribute is "email" or "phone_number" when the pools sign in by it (users are
	// matched across pools by it), else "" (matched by username).
	UsernameAttribute string `json:"usernameAttribute"`
	// Match is how users are matched across the pools: by sign-in attribute or username,
	// lowercased only when both pools are case insensitive.
	Match poolpair.Matcher `json:"match"`
	// MatchNote says why custom:primary_sub was not used to match users, when it was not.
	MatchNote string `json:"matchNote,omitempty"`
	// ApprovalTimeoutSeconds and FinalApprovalTimeoutSeconds are the request's values with their
	// defaults applied.
	ApprovalTimeoutSeconds      int `json:"approvalTimeoutSeconds"`
	FinalApprovalTimeoutSeconds int `json:"finalApprovalTimeoutSeconds"`
	// Final is true for the plan taken after the DR pool was fenced. RunPrefix is the run's own
	// prefix (Prefix of the first plan; the final plan's Prefix is RunPrefix + FinalDir).
	Final     bool   `json:"final,omitempty"`
	RunPrefix string `json:"runPrefix"`
	// Buckets is how many hash buckets the plan joins the two exports in (at most about
	// Steps.BucketUsers users of a pool each): what one unit of the plan holds.
	Buckets int    `json:"buckets"`
	Counts  Counts `json:"counts"`
	// Import is where the import jobs run and write their results: the primary pool, this plan's
	// files.
	Import importjob.Target `json:"import"`
}

// Counts are the users of each kind of change found by the plan.
type Counts struct {
	PrimaryUsers int `json:"primaryUsers"`
	DRUsers      int `json:"drUsers"`
	// Import are DR users the primary does not have.
	Import int `json:"import"`
	// Update are users in both pools changed in the DR pool after failover.
	Update int `json:"update"`
	// GroupAdds are memberships the DR pool has and the primary lacks.
	GroupAdds int `json:"groupAdds"`
	// DisabledInDR are users disabled in the DR pool and enabled in the primary, not by an earlier
	// failback (applied with ApplyDisables).
	DisabledInDR int `json:"disabledInDr"`
	// PrimaryOnly are primary users absent from the DR pool: reported, never deleted.
	PrimaryOnly int `json:"primaryOnly"`
	// Unchanged are users in both pools with nothing to carry back.
	Unchanged int `json:"unchanged"`
	// UnverifiedDR are DR users held back: UNCONFIRMED or with an unverified address that a
	// primary user has. Nothing of theirs reaches the primary.
	UnverifiedDR int `json:"unverifiedDr"`
}

// Files of a failback under Plan.Prefix.
const (
	PrimaryDir      = "primary/"
	DRDir           = "dr/"
	ImportUsersFile = "plan/import-users.jsonl.gz"
	ActionsFile     = "plan/actions.jsonl.gz"
	PlanSummaryFile = "plan/summary.json"
	// PlanBucketsDir holds the partition of both exports into the plan's buckets and each
	// bucket's plan, which the plan's files join.
	PlanBucketsDir   = "plan/buckets/"
	ImportDir        = "import/"
	ImportResultsDir = importjob.ResultsDir
	ApplyLedgerDir   = "ledger/apply/"
	// ApplyWorkDir holds ApplyChanges' work list (internal/worklist): its changes in pages.
	ApplyWorkDir     = "work/apply/"
	DisableLedgerDir = "ledger/disable/"
	ReportFile       = "report.jsonl.gz"
	// FinalDir holds the final plan and everything after it, under the run's prefix.
	FinalDir = "final/"
	// FenceRecordFile (under the run's prefix) keeps the DR pool's mode from before the fence,
	// written before the fence so a retried FenceDr still knows it.
	FenceRecordFile = "ledger/fence.json"
	ReportSummary   = "report-summary.json"
	// ReportDir holds the report's buckets: every input routed to its users' buckets, and each
	// bucket's lines, which ReportFile joins.
	ReportDir = "report/"
	// ReportPublishedFile records the message that told the operators the outcome, so a retried
	// WriteReport does not tell them twice.
	ReportPublishedFile = "ledger/report-published.json"
)

// PlanRef is what most steps take: the plan.
type PlanRef struct {
	Plan Plan `json:"plan"`
}

// CSVOutput describes the import CSVs for the primary pool and binds the approval to the plan:
// with the parts and the rejects report, which carry their own digests, PlanFiles are every file
// a step reads after the approval, and each step refuses one that changed (see binding.go).
type CSVOutput struct {
	csvbuild.Built
	PlanFiles PlanFiles `json:"planFiles"`
}

// PlanFiles are the plan files read after the approval, with their size and SHA-256 when the
// import was validated.
type PlanFiles struct {
	// Actions are the API changes (ApplyChanges; the approval page lists them).
	Actions s3stream.Object `json:"actions"`
	// ImportUsers are the users to import; ApplyChanges creates some of them by API.
	ImportUsers s3stream.Object `json:"importUsers"`
	// DRUsers is the DR export: the users DisableDrUsers disables and WriteReport reports.
	DRUsers s3stream.Object `json:"drUsers"`
	// Held are the DR users the plan holds back (WriteReport reports them as held).
	Held s3stream.Object `json:"held"`
}

// ApprovalInput is the payload of the RequestApproval state (lambda:invoke.waitForTaskToken).
type ApprovalInput struct {
	TaskToken string    `json:"taskToken"`
	Plan      Plan      `json:"plan"`
	CSV       CSVOutput `json:"csv"`
	// Final is set for the second approval (RequestFinalApproval): how the final plan, taken with
	// the DR pool fenced, goes beyond the approved one.
	Final *Comparison `json:"final,omitempty"`
}

// ApprovalOutput is what the approval page sends back with SendTaskSuccess.
type ApprovalOutput struct {
	Decision  string    `json:"decision"`
	Approver  string    `json:"approver"`
	DecidedAt time.Time `json:"decidedAt"`
}

// Progress is the cursor of a step that works through a list in several invocations (each
// bounded by the Lambda's time limit): the state machine loops until Done.
type Progress struct {
	Done    bool `json:"done"`
	Cursor  int  `json:"cursor"`
	Applied int  `json:"applied"`
	Failed  int  `json:"failed"`
	// List is how far ApplyChanges has built its work list (absent at its first invocation, and
	// for DisableDrUsers).
	List worklist.Progress `json:"list,omitzero"`
}

// ApplyInput is what the ApplyChanges state passes.
type ApplyInput struct {
	Plan Plan      `json:"plan"`
	CSV  CSVOutput `json:"csv"`
	// Imports are the import jobs' results (ImportParts): the users whose rows were skipped or
	// failed are created by API after the plan's updates (ActionCreateAfterImport).
	Imports  []ImportResults `json:"imports"`
	Progress Progress        `json:"progress"`
}

// DisableInput is what the DisableDrUsers state passes.
type DisableInput struct {
	Plan     Plan      `json:"plan"`
	CSV      CSVOutput `json:"csv"`
	Progress Progress  `json:"progress"`
}

// ReportInput is what the WriteReport state passes: WriteReport joins the inputs a bucket of
// users at a time, one time budget per invocation, until Progress.Done.
type ReportInput struct {
	Plan    Plan            `json:"plan"`
	CSV     CSVOutput       `json:"csv"`
	Imports []ImportResults `json:"imports"`
	// Apply and Disable are the ApplyChanges and DisableDrUsers loops' ends: their cursors are how
	// many results each ledger holds, which the report reads a range at a time. Without them a
	// ledger is read in one unit.
	Apply   *Progress `json:"apply,omitempty"`
	Disable *Progress `json:"disable,omitempty"`
	// Progress is the loop's cursor.
	Progress ReportProgress `json:"progress"`
	// Fence and Activation are what the failback did to the pools' modes and the schedule.
	Fence      *Fence      `json:"fence,omitempty"`
	Activation *Activation `json:"activation,omitempty"`
	// Compare is how the final plan went beyond the approved one.
	Compare *Comparison `json:"compare,omitempty"`
}

// ReportProgress is the cursor of the WriteReport loop: the next of the report's units (route
// every input to its users' buckets, join each bucket, join the buckets' lines, publish). Once
// Done, Report is the execution's result; it is set as soon as the lines are joined.
type ReportProgress struct {
	Done  bool `json:"done"`
	Next  int  `json:"next"`
	Units int  `json:"units"`
	// Invocations counts the loop's invocations.
	Invocations int           `json:"invocations"`
	Report      *ReportOutput `json:"report,omitempty"`
}

// ReportOutput is the execution's result: counts and where the per-user report is.
type ReportOutput struct {
	Report     s3stream.Object `json:"report"`
	SummaryKey string          `json:"summaryKey"`
	Outcomes   map[string]int  `json:"outcomes"`
	Users      int             `json:"users"`
	Lost       int             `json:"lost"`
	// Modes are the pools' modes and the reconcile schedule's state the failback left: primary
	// "active", dr "fenced", schedule "resumed" (or why not).
	Modes     Modes  `json:"modes"`
	MessageID string `json:"messageId,omitempty"`
}

// Modes are what a failback left of the switch.
type Modes struct {
	Primary  string `json:"primary"`
	DR       string `json:"dr"`
	Schedule string `json:"schedule"`
}

// NotifyInput is what the notify states pass for endings other than success (rejection,
// timeout, failure). Changes is set only by NotifyFailedAfterChanges, once the import or the API
// changes had begun: without it, nothing was changed.
type NotifyInput struct {
	ExecutionName string            `json:"executionName"`
	Outcome       string            `json:"outcome"`
	Error         *StateError       `json:"error,omitempty"`
	Changes       *stateerr.Changes `json:"changes,omitempty"`
	// Fence is set from the fence on: the DR pool is (or may be) fenced, or was reopened.
	Fence *Fence `json:"fence,omitempty"`
}

// StateError is the error object a Catch puts in the state.
type StateError = stateerr.Caught

// Package restore is the restore workflow: it rebuilds a lost, emptied or corrupted user pool
// from a backup snapshot — users by Cognito import jobs (the same jobs and result handling as
// failback, internal/importjob), the users an import refuses only for an unverified contact by
// API, then groups, memberships and the disabled flags the snapshot recorded — and reports per
// user what happened, with the map from each user's snapshot sub to its new sub. These are the
// JSON contracts that cross the boundary of statemachines/restore.asl.json and the steps its tasks
// run.
package restore

import (
	"time"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Request is the execution input, started by an operator.
type Request struct {
	// Bucket and BucketRegion hold the snapshots; the restore keeps its own files there too.
	Bucket       string `json:"bucket"`
	BucketRegion string `json:"bucketRegion"`
	// Snapshot is the manifest key of the snapshot to restore, or "latest": the newest snapshot
	// of SourceUserPoolID under SnapshotPrefix (by its snapshotAt).
	Snapshot         string `json:"snapshot"`
	SourceUserPoolID string `json:"sourceUserPoolId,omitempty"`
	// SnapshotPrefix is where backups go; default "cognito-dr/backups".
	SnapshotPrefix string `json:"snapshotPrefix,omitempty"`
	// Target is an existing pool to restore into.
	Target *manifest.PoolRef `json:"target,omitempty"`
	// CreatePool restores into a new pool created from the snapshot's pool.json.
	CreatePool *NewPool `json:"createPool,omitempty"`
	// ProviderSecrets supplies, per identity provider of the snapshot's pool (createPool only),
	// the secrets capture removed (client_secret, private_key) as AWS Secrets Manager secret ARNs:
	// never the values, which would stay in the execution's history. A provider that needs a
	// secret and is not named here is not created; the report says so.
	ProviderSecrets map[string]SecretRef `json:"providerSecrets,omitempty"`
	// ClientSecrets maps an app client id of the snapshot's pool that had a secret to the ARN of
	// a secret whose SecretString is that client's secret (createPool only): the copy keeps it,
	// so apps need no new one. A client not named gets a new secret.
	ClientSecrets map[string]string `json:"clientSecrets,omitempty"`
	// AddMissingAttributes lets the restore add to the target the custom attributes the snapshot
	// has and the target lacks (AddCustomAttributes cannot be undone); otherwise it fails naming them.
	AddMissingAttributes bool `json:"addMissingAttributes,omitempty"`
	// ApproveNonEmptyTarget is the operator's statement that the target may already have users:
	// the restore then waits for an approval (the failback's page and link rules) before its
	// first write. Without it a target with users fails the first state, nothing changed.
	ApproveNonEmptyTarget bool `json:"approveNonEmptyTarget,omitempty"`
	// ApprovalTimeoutSeconds bounds the wait for the approver; default 86400 (one day).
	ApprovalTimeoutSeconds int `json:"approvalTimeoutSeconds,omitempty"`
	// Prefix is the key prefix of restore files; default "cognito-dr/restores".
	Prefix string `json:"prefix,omitempty"`
	// Drill makes the run a restore drill: the snapshot is restored into a new scratch pool
	// (named DrillPoolPrefix + the execution, in createPool.region or else bucketRegion),
	// verified against the snapshot, timed (drill.json beside the snapshots) and deleted.
	Drill bool `json:"drill,omitempty"`
}

// NewPool names the pool a restore creates.
type NewPool struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

// Latest is the Request.Snapshot that picks the newest snapshot of a pool.
const Latest = "latest"

// DefaultPrefix is where restore files go when the request names no prefix.
const DefaultPrefix = "cognito-dr/restores"

// DefaultApprovalTimeout is the wait for the approver when the request names none.
const DefaultApprovalTimeout = 24 * time.Hour

// ResolveInput is what the ResolveSnapshot state passes.
type ResolveInput struct {
	Request       Request `json:"request"`
	ExecutionName string  `json:"executionName"`
	StartTime     string  `json:"startTime"`
}

// Plan locates a restore's snapshot, target and files, and carries the decisions later states
// need. It travels in the state, so it holds keys and counts, never users.
type Plan struct {
	Request       Request `json:"request"`
	ExecutionName string  `json:"executionName"`
	// Started is when the execution started (a drill's RTO runs from it).
	Started time.Time `json:"started"`
	// ManifestKey is the snapshot's manifest; Snapshot the verified files the steps read (their
	// digests as the manifest records them and as they were read).
	ManifestKey string           `json:"manifestKey"`
	Source      manifest.PoolRef `json:"source"`
	SourceName  string           `json:"sourceName"`
	SnapshotAt  time.Time        `json:"snapshotAt"`
	Snapshot    SnapshotFiles    `json:"snapshot"`
	Target      manifest.PoolRef `json:"target"`
	TargetName  string           `json:"targetName"`
	// Created is set once the restore created the target pool.
	Created *CreatedPool `json:"created,omitempty"`
	// TargetUsers is how many users the target had when the restore began (ListUsers, so exact
	// up to one page; a count of 60 means "60 or more").
	TargetUsers int `json:"targetUsers"`
	// NeedsApproval is true when the target had users: the restore waits for an approval.
	NeedsApproval bool `json:"needsApproval"`
	// Prepare is what PrepareTarget does before anything else is written: PrepareCreatePool,
	// PrepareAddAttributes, or "" (nothing: the target is ready).
	Prepare string `json:"prepare"`
	// MissingAttributes are the custom attributes the snapshot's pool has and the target lacks
	// (added with AddCustomAttributes when the request allows it).
	MissingAttributes []string `json:"missingAttributes,omitempty"`
	// SchemaNotes are differences between the pools that do not stop the restore.
	SchemaNotes []string `json:"schemaNotes,omitempty"`
	// Match names users in the target (its sign-in attribute, or the username).
	Match poolpair.Matcher `json:"match"`
	// Bucket, Region and Prefix locate every file of this restore; Prefix ends in "/".
	Bucket string `json:"bucket"`
	Region string `json:"region"`
	Prefix string `json:"prefix"`
	// Import is where the import jobs run and write their results.
	Import                 importjob.Target `json:"import"`
	ApprovalTimeoutSeconds int              `json:"approvalTimeoutSeconds"`
	Counts                 Counts           `json:"counts"`
}

// SnapshotFiles are the snapshot's files a restore reads, verified against the manifest.
type SnapshotFiles struct {
	// Users are the users files in order: the parts of a resumable export, or the one file of a
	// snapshot taken before exports were resumable.
	Users  []s3stream.Object `json:"users"`
	Groups s3stream.Object   `json:"groups"`
	// Memberships are the memberships files in order, as Users: the parts of a resumable export
	// (manifest version 3), or the one file of an older snapshot.
	Memberships []s3stream.Object `json:"memberships"`
	// PoolConfig is pool.json, absent from snapshots taken before it was captured.
	PoolConfig *s3stream.Object `json:"poolConfig,omitempty"`
}

// CreatedPool is what creating the target pool made.
type CreatedPool struct {
	UserPoolID string `json:"userPoolId"`
	// Clients maps each app client id of the snapshot's pool to the new pool's: what apps must
	// be reconfigured with.
	Clients map[string]string `json:"clients,omitempty"`
	// IdentityProviders says, per identity provider of the snapshot's pool, whether the new pool
	// has it, and if not why (its secret was not supplied, or Cognito refused it).
	IdentityProviders []poolconfig.ProviderResult `json:"identityProviders,omitempty"`
	// Notes lists what else the new pool lacks or does differently, and why (the domain,
	// triggers, the email sender, app clients without a provider that was not created).
	Notes []string `json:"notes,omitempty"`
}

// Counts are the snapshot's users by what the restore does with them.
type Counts struct {
	Users       int `json:"users"`
	Disabled    int `json:"disabled"`
	Groups      int `json:"groups"`
	Memberships int `json:"memberships"`
}

// Files of a restore under Plan.Prefix.
const (
	// UsersFile are the snapshot's users an import can create (federated users left out).
	UsersFile = "users.jsonl.gz"
	ImportDir = "import/"
	LedgerDir = "ledger/"
	// WorkDir holds each apply phase's work list: its items in pages, and the hash buckets the
	// join of two files goes through.
	WorkDir          = "work/"
	ReportFile       = "report.jsonl.gz"
	SubMapFile       = "sub-map.jsonl.gz"
	ReportSummary    = "report-summary.json"
	ApplyStartedFile = "ledger/apply-started.json"
	// TargetDir holds the resumable export of the target pool the report lists once the changes
	// are made (users, groups and memberships, with its checkpoint).
	TargetDir = "target/"
	// ReportDir holds the report's hash buckets: the snapshot and the target's export partitioned
	// by user key (internal/partition), the import results spread likewise, and each bucket's
	// report, sub map and summary before they are joined.
	ReportDir = "report/"
	// DrillCheckFile is what the report's buckets found comparing a drill's scratch pool with the
	// snapshot, joined: VerifyDrill's record is made from it.
	DrillCheckFile = "drill-check.json"
)

// What PrepareTarget does.
const (
	PrepareCreatePool    = "create-pool"
	PrepareAddAttributes = "add-attributes"
)

// PlanRef is what several steps take: the plan.
type PlanRef struct {
	Plan Plan `json:"plan"`
}

// CSVOutput describes the import CSVs built for the target.
type CSVOutput struct {
	csvbuild.Built
	// Users is the restore's users file the CSVs were built from.
	Users s3stream.Object `json:"users"`
	// External are the snapshot's federated users (EXTERNAL_PROVIDER), left out: an import cannot
	// create them; Cognito does when they next sign in through their provider.
	External int `json:"external"`
}

// ApprovalInput is the payload of the RequestApproval state (lambda:invoke.waitForTaskToken).
type ApprovalInput struct {
	TaskToken string    `json:"taskToken"`
	Plan      Plan      `json:"plan"`
	CSV       CSVOutput `json:"csv"`
}

// Phases of the ApplyRestore task, one state each.
const (
	PhaseCreate      = "create"
	PhaseGroups      = "groups"
	PhaseMemberships = "memberships"
	PhaseDisable     = "disable"
)

// Progress is the cursor of a step that works through a list in several invocations.
type Progress struct {
	Done    bool `json:"done"`
	Cursor  int  `json:"cursor"`
	Applied int  `json:"applied"`
	Failed  int  `json:"failed"`
	// List is how far the phase's work list is built (absent at the phase's first invocation).
	List WorkList `json:"list"`
}

// ApplyInput is what the CreateUsers, RestoreGroups, RestoreMemberships and DisableUsers states
// pass.
type ApplyInput struct {
	Plan     Plan      `json:"plan"`
	CSV      CSVOutput `json:"csv"`
	Phase    string    `json:"phase"`
	Progress Progress  `json:"progress"`
}

// ReportInput is what the ExportTarget and WriteReport states pass.
type ReportInput struct {
	Plan    Plan                `json:"plan"`
	CSV     CSVOutput           `json:"csv"`
	Imports []importjob.Results `json:"imports"`
	// Progress is the report's cursor: absent (zero) at the first invocation.
	Progress ReportProgress `json:"progress"`
}

// ReportProgress is how far the report is: the target's export (the ExportTarget loop), then the
// units that join it with the snapshot and the results bucket by bucket (the WriteReport loop).
type ReportProgress struct {
	Done bool `json:"done"`
	// Export is the target's resumable export under TargetDir.
	Export export.PoolState `json:"export"`
	// Buckets is how many hash buckets the join has, fixed once the export is done.
	Buckets int `json:"buckets,omitempty"`
	// Next is the next unit to run of Units.
	Next        int `json:"next"`
	Units       int `json:"units,omitempty"`
	Invocations int `json:"invocations"`
	// Report and SubMap are the joined files, once written.
	Report *s3stream.Object `json:"report,omitempty"`
	SubMap *s3stream.Object `json:"subMap,omitempty"`
	// Output is the report's result once Done: what the state machine keeps as $.report.
	Output *ReportOutput `json:"output,omitempty"`
}

// ReportOutput is the execution's result: counts and where the report and the sub map are.
type ReportOutput struct {
	Report     s3stream.Object `json:"report"`
	SubMap     s3stream.Object `json:"subMap"`
	SummaryKey string          `json:"summaryKey"`
	Outcomes   map[string]int  `json:"outcomes"`
	Users      int             `json:"users"`
	Disabled   int             `json:"disabled"`
	Mapped     int             `json:"mapped"`
	// Target is the pool restored into; Created what creating it made.
	Target    manifest.PoolRef `json:"target"`
	Created   *CreatedPool     `json:"created,omitempty"`
	MessageID string           `json:"messageId,omitempty"`
}

// NotifyInput is what the notify states pass for endings other than success. Changes is set only
// by NotifyFailedAfterChanges: without it, nothing was changed.
type NotifyInput struct {
	ExecutionName string            `json:"executionName"`
	Outcome       string            `json:"outcome"`
	Error         *StateError       `json:"error,omitempty"`
	Changes       *stateerr.Changes `json:"changes,omitempty"`
	// Plan is the restore's plan, once changes were made: it names a pool the restore created.
	Plan *Plan `json:"plan,omitempty"`
}

// StateError is the error object a Catch puts in the state.
type StateError = stateerr.Caught

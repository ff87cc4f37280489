// Package replication keeps the DR user pool a usable copy of the primary: the PostConfirmation
// trigger of the primary pool copies each new user at once (never failing the sign-up), the DR
// pool's PreTokenGeneration trigger gives apps the primary `sub` as a claim, and the reconcile
// workflow (statemachines/reconcile.asl.json) repairs whatever the trigger missed: users, changed
// attributes and verified flags, enabled/disabled, group memberships, and (when asked) deletes.
// These are the JSON contracts that cross the ASL boundary and the steps its tasks run.
package replication

import (
	"time"

	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// PrimarySubAttribute and PrimarySubClaim are the primary_sub contract (see internal/poolpair).
const (
	PrimarySubAttribute = poolpair.PrimarySubAttribute
	PrimarySubClaim     = poolpair.PrimarySubClaim
)

// Request is the reconcile execution input (an EventBridge Scheduler schedule, or an operator).
type Request struct {
	// PrimaryUserPoolID and PrimaryRegion name the pool users sign up in (e.g. Tokyo).
	PrimaryUserPoolID string `json:"primaryUserPoolId"`
	PrimaryRegion     string `json:"primaryRegion"`
	// DRUserPoolID and DRRegion name the copy (e.g. Osaka).
	DRUserPoolID string `json:"drUserPoolId"`
	DRRegion     string `json:"drRegion"`
	// Bucket and BucketRegion hold the exports, the repair ledger and the drift report.
	Bucket       string `json:"bucket"`
	BucketRegion string `json:"bucketRegion"`
	// MirrorDeletes deletes from the DR pool the replicated users the primary no longer has.
	// Off by default: they are reported.
	MirrorDeletes bool `json:"mirrorDeletes,omitempty"`
	// Prefix is the key prefix of reconcile files; default "cognito-dr/reconcile".
	Prefix string `json:"prefix,omitempty"`
}

// DefaultPrefix is where reconcile files go when the request names no prefix.
const DefaultPrefix = "cognito-dr/reconcile"

// PlanInput is what the PlanReconcile state passes.
type PlanInput struct {
	Request       Request `json:"request"`
	ExecutionName string  `json:"executionName"`
	StartTime     string  `json:"startTime"`
}

// Drift kinds, as counted in Drift.Kinds and written per user.
const (
	// KindMissing: a primary user the DR pool lacks.
	KindMissing = "missing"
	// KindAttributes: attribute values differ (other than the verified flags).
	KindAttributes = "attributes"
	// KindVerified: email_verified or phone_number_verified differ.
	KindVerified = "verified"
	// KindEnabled: enabled in one pool, disabled in the other.
	KindEnabled = "enabled"
	// KindGroups: group memberships differ.
	KindGroups = "groups"
	// KindPassword: the DR copy is FORCE_CHANGE_PASSWORD, so it could not use ForgotPassword.
	KindPassword = "password"
	// KindDeleted: a replicated DR user (it carries custom:primary_sub) whose primary user is
	// gone. Deleted from the DR pool only with MirrorDeletes.
	KindDeleted = "deleted"
	// KindDROnly: a DR user with no primary counterpart and no custom:primary_sub: it was
	// created in the DR pool (during an outage, say). Reported, never changed: failback's job.
	KindDROnly = "dr-only"
	// KindUnverifiedDR: a DR user, UNCONFIRMED or with an unverified address, whose key a primary
	// user has. Never matched to that user and never changed; the primary user is not copied
	// over it (it shows as missing).
	KindUnverifiedDR = poolpair.UnverifiedDRUser
	// KindAwaitingVerification: the primary user's email (phone number) changed and is not yet
	// verified, and the DR pool keeps an address's original value until a new one is verified
	// (AttributesRequireVerificationBeforeUpdate). Sending it would change nothing and send the
	// user a code on every run, so it is reported and left until the primary verifies it.
	KindAwaitingVerification = "awaiting-verification"
)

// Drift is what one comparison of the two pools found.
type Drift struct {
	PrimaryUsers int `json:"primaryUsers"`
	DRUsers      int `json:"drUsers"`
	// Users is the number of users with at least one kind of drift (DR-only users excluded).
	Users int `json:"users"`
	// Kinds counts users per kind of drift; a user may count under several kinds.
	Kinds map[string]int `json:"kinds"`
	// Skipped are primary users never copied: UNCONFIRMED (the trigger copies them when they
	// confirm) and EXTERNAL_PROVIDER (federated; they sign in through their provider).
	Skipped int `json:"skipped"`
	// OldestChange is the last-modified time of the drifted primary user changed longest ago;
	// RPOSeconds is its age when the comparison ran: the replication lag a team can quote.
	// Deletes and DR-only users carry no primary time and do not count.
	OldestChange *time.Time `json:"oldestChange,omitempty"`
	RPOSeconds   int64      `json:"rpoSeconds"`
	// Key is the S3 key of the comparison's manifest, which lists the per-user drift files.
	Key string `json:"key"`
}

// Plan locates one reconcile's files and carries what later states need: keys and counts,
// never users.
type Plan struct {
	Request Request `json:"request"`
	Bucket  string  `json:"bucket"`
	Region  string  `json:"region"`
	// Prefix ends in "/".
	Prefix string `json:"prefix"`
	// UsernameAttribute is "email" or "phone_number" when the pools sign in by it (users are
	// matched and created by it), else "".
	UsernameAttribute string `json:"usernameAttribute"`
	// Match is how users are matched: by UsernameAttribute or username, lowercased only when
	// both pools are case insensitive.
	Match poolpair.Matcher `json:"match"`
	// MatchNote says why custom:primary_sub was not used to match users, when it was not.
	MatchNote string `json:"matchNote,omitempty"`
	// Buckets is how many buckets each pool's export is partitioned into (at most about
	// Steps.BucketUsers users of a pool each).
	Buckets int `json:"buckets"`
	// Pending is the number of users in the retry store.
	Pending int `json:"pending"`
}

// Files of a reconcile under Plan.Prefix.
const (
	BeforeDir = "before/"
	AfterDir  = "after/"
	// PrimaryDir and DRDir (under BeforeDir or AfterDir) hold each pool's resumable export: its
	// users parts, groups, memberships and checkpoint (internal/export).
	PrimaryDir   = "primary/"
	DRDir        = "dr/"
	RepairLedger = "ledger/"
	ReportFile   = "report.json"
	// PendingFile lists the retry store's subs as the plan read it.
	PendingFile = "pending.jsonl.gz"
	// PendingGoneFile (under BeforeDir) is the repair list of the retry-store users the primary
	// no longer has: only their entries to remove.
	PendingGoneFile = "pending-gone.jsonl.gz"
	// ManifestFile (under BeforeDir or AfterDir) lists every drift and repair file of a
	// comparison with its count (Manifest).
	ManifestFile = "manifest.json"
)

// DiffInput is what the DiffBefore and DiffAfter states pass: DiffBucket compares one bucket
// of the comparison under Dir per invocation until Progress.Done.
type DiffInput struct {
	Plan     Plan         `json:"plan"`
	Dir      string       `json:"dir"`
	Progress DiffProgress `json:"progress"`
}

// DiffProgress is the cursor of the diff loop and, once Done, the comparison's totals.
type DiffProgress struct {
	// Phase is "sub" or "key" (see the partition); "" before the first bucket.
	Phase string `json:"phase,omitempty"`
	Next  int    `json:"next"`
	Done  bool   `json:"done"`
	// Drift and Repairs (the number of users in the repair list) are set once Done.
	Drift   Drift `json:"drift"`
	Repairs int   `json:"repairs"`
}

// ExportInput is what the ExportBefore and ExportAfter states pass: ExportPools exports both
// pools under Dir and partitions the exports into the plan's buckets, one time budget per
// invocation, until Progress.Done.
type ExportInput struct {
	Plan     Plan           `json:"plan"`
	Dir      string         `json:"dir"`
	Progress ExportProgress `json:"progress"`
}

// ExportProgress is the cursor of the export loop: first both pools' resumable exports (each
// with its checkpoint in S3), then each pool's units of the partition.
type ExportProgress struct {
	Done    bool       `json:"done"`
	Primary PoolExport `json:"primary"`
	DR      PoolExport `json:"dr"`
	// Invocations counts the ExportPools invocations of the loop.
	Invocations int `json:"invocations"`
	// Gone (before the repairs) is the number of retry-store users the primary no longer has.
	Gone int `json:"gone"`
}

// PoolExport is one pool's resumable export, as its checkpoint last said.
type PoolExport struct {
	export.PoolState
	// Next is the pool's first partition unit not done, once both exports are; Units is how many
	// the pool's partition has.
	Next  int `json:"next"`
	Units int `json:"units"`
}

// ReportInput is what the ReportDrift state passes.
type ReportInput struct {
	Plan     Plan         `json:"plan"`
	Progress Progress     `json:"progress"`
	Before   DiffProgress `json:"before"`
	After    DiffProgress `json:"after"`
}

// Manifest lists a comparison's per-bucket files (ManifestFile): state carries keys and counts,
// never users, and the repair step reads the repair files one at a time.
type Manifest struct {
	Buckets int        `json:"buckets"`
	Drift   []FileRows `json:"drift"`
	// Repairs are the repair lists in order; each begins with its Pending users of the retry
	// store, repaired before any other.
	Repairs []FileRows `json:"repairs"`
}

// FileRows is one JSON-lines file and how many rows it holds; Pending of them (the first) are
// retry-store users.
type FileRows struct {
	Key     string `json:"key"`
	Rows    int    `json:"rows"`
	Pending int    `json:"pending,omitempty"`
}

// Progress is the cursor of the repair loop: the state machine calls RepairDrift until Done.
type Progress struct {
	Done    bool `json:"done"`
	Cursor  int  `json:"cursor"`
	Applied int  `json:"applied"`
	Failed  int  `json:"failed"`
	// Resolved counts retry-store entries removed because their user is now in sync.
	Resolved int `json:"resolved"`
}

// RepairInput is what the RepairDrift state passes.
type RepairInput struct {
	Plan     Plan     `json:"plan"`
	Progress Progress `json:"progress"`
}

// Output is the execution's result and the report's summary.
type Output struct {
	ReportKey string `json:"reportKey"`
	Before    Drift  `json:"before"`
	After     Drift  `json:"after"`
	// Repaired and Failed count users whose repair succeeded or failed; Pending is how many came
	// from the retry store, Resolved how many of those left it.
	Repaired  int    `json:"repaired"`
	Failed    int    `json:"failed"`
	Pending   int    `json:"pending"`
	Resolved  int    `json:"resolved"`
	MessageID string `json:"messageId,omitempty"`
}

// NotifyInput is what the NotifyFailed and NotifyFailedAfterChanges states pass. Changes is set
// only once repairs had begun: without it, nothing was changed.
type NotifyInput struct {
	ExecutionName string            `json:"executionName"`
	Error         *StateError       `json:"error,omitempty"`
	Changes       *stateerr.Changes `json:"changes,omitempty"`
}

// StateError is the error object a Catch puts in the state.
type StateError = stateerr.Caught

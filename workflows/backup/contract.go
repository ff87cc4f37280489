// Package backup is the backup workflow: the JSON contracts that cross the boundary of
// statemachines/backup.asl.json and the steps its tasks run. A backup exports a user pool to S3 in
// another Region (users, groups, memberships), builds import-ready CSVs validated against a target
// pool's own header and rules, writes a manifest with checksums, and notifies by SNS.
package backup

import (
	"time"

	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Request is the execution input, from the console or an EventBridge schedule.
type Request struct {
	// UserPoolID is the pool to back up, e.g. "ap-northeast-1_AbCdEf123".
	UserPoolID string `json:"userPoolId"`
	// Region is the pool's Region.
	Region string `json:"region"`
	// Bucket receives the snapshot; it should be in another Region than the pool.
	Bucket string `json:"bucket"`
	// BucketRegion is the bucket's Region.
	BucketRegion string `json:"bucketRegion"`
	// Prefix is the key prefix of snapshots; default "cognito-dr/backups".
	Prefix string `json:"prefix,omitempty"`
	// TargetUserPoolID is the pool the import CSVs are built for (its GetCSVHeader and rules);
	// default: the pool being backed up, for a restore in place.
	TargetUserPoolID string `json:"targetUserPoolId,omitempty"`
	// TargetRegion is the target pool's Region; default: Region.
	TargetRegion string `json:"targetRegion,omitempty"`
	// IncludeMFAPreferences adds each user's MFA settings with one AdminGetUser per user, paced
	// to the UserRead quota (120 RPS by default): a 1M-user pool then takes over two hours.
	IncludeMFAPreferences bool `json:"includeMfaPreferences,omitempty"`
}

// DefaultPrefix is where snapshots go when the request names no prefix.
const DefaultPrefix = manifest.DefaultPrefix

// ExportInput is what the ExportUsers state passes: the execution input untouched, so unknown
// fields are refused, plus the execution's identity, which names the snapshot.
type ExportInput struct {
	Request       Request `json:"request"`
	ExecutionName string  `json:"executionName"`
	StartTime     string  `json:"startTime"`
}

// Location is where one snapshot lives.
type Location = manifest.Location

// PoolRef names a pool in a Region.
type PoolRef = manifest.PoolRef

// ExportOutput describes the exported snapshot: keys and counts, never users (state payloads are
// capped at 256 KiB and visible to operators). While Done is false the export is not finished:
// the counts are those written so far, Files is empty, and ExportUsers runs again.
type ExportOutput struct {
	Source      PoolRef           `json:"source"`
	PoolName    string            `json:"poolName"`
	Target      PoolRef           `json:"target"`
	Snapshot    Location          `json:"snapshot"`
	SnapshotAt  time.Time         `json:"snapshotAt"`
	Users       int               `json:"users"`
	Disabled    int               `json:"disabled"`
	ByStatus    map[string]int    `json:"byStatus"`
	WithMFA     *int              `json:"withMfa,omitempty"`
	Groups      int               `json:"groups"`
	Memberships int               `json:"memberships"`
	Files       []s3stream.Object `json:"files"`
	Seconds     float64           `json:"seconds"`

	// Files are the users index (it lists the users parts), groups and the memberships index (it
	// lists the memberships parts);
	// Seconds is the time spent exporting, every invocation together. Done is false while
	// ExportUsers must run again; RemainingShards are the `sub` prefixes not exported yet;
	// Invocations counts the invocations so far; EstimatedUsers is Cognito's estimate of the
	// pool's size (the total of a progress display).
	Done            bool `json:"done"`
	RemainingShards int  `json:"remainingShards"`
	Invocations     int  `json:"invocations"`
	EstimatedUsers  int  `json:"estimatedUsers"`
}

// Snapshot file names under Location.Prefix. Users are in parts listed by UsersIndexFile (read
// them with snapshot.ReadUsers); snapshots made before exports were resumable have UsersFile.
// Memberships likewise: parts listed by MembershipsIndexFile (snapshot.ReadMemberships), or
// MembershipsFile in snapshots made before memberships were resumable.
const (
	UsersFile            = export.UsersFile
	UsersIndexFile       = snapshot.UsersIndexFile
	GroupsFile           = export.GroupsFile
	MembershipsFile      = export.MembershipsFile
	MembershipsIndexFile = snapshot.MembershipsIndexFile
	ManifestFile         = manifest.File
	PoolConfigFile       = manifest.PoolConfigFile
)

// CSVInput is what the BuildImportCsv state passes.
type CSVInput struct {
	Snapshot Location `json:"snapshot"`
	Target   PoolRef  `json:"target"`
}

// CSVOutput describes the import-ready CSVs and the rejects report.
type CSVOutput = manifest.CSV

// PoolConfigInput is what the CapturePoolConfig state passes.
type PoolConfigInput struct {
	Source   PoolRef  `json:"source"`
	Snapshot Location `json:"snapshot"`
}

// PoolConfigOutput locates pool.json and counts what it holds.
type PoolConfigOutput struct {
	Object            s3stream.Object `json:"object"`
	Clients           int             `json:"clients"`
	Groups            int             `json:"groups"`
	IdentityProviders int             `json:"identityProviders"`
	ResourceServers   int             `json:"resourceServers"`
}

// ManifestInput is what the WriteManifest state passes.
type ManifestInput struct {
	Export ExportOutput `json:"export"`
	CSV    CSVOutput    `json:"csv"`
	// PoolConfig is pool.json; nil only for an execution started before the state existed.
	PoolConfig *PoolConfigOutput `json:"poolConfig,omitempty"`
}

// ManifestOutput locates the manifest.
type ManifestOutput struct {
	Manifest s3stream.Object `json:"manifest"`
}

// Manifest is the record of one snapshot (see internal/manifest).
type Manifest = manifest.Manifest

// ManifestFileEntry is one file of a snapshot.
type ManifestFileEntry = manifest.FileEntry

// NotifyInput is what the NotifySuccess and NotifyFailure states pass.
type NotifyInput struct {
	ExecutionName string           `json:"executionName"`
	Status        string           `json:"status"`
	Export        *ExportOutput    `json:"export,omitempty"`
	CSV           *CSVOutput       `json:"csv,omitempty"`
	Manifest      *s3stream.Object `json:"manifest,omitempty"`
	Error         *StateError      `json:"error,omitempty"`
}

// StateError is the error object a Catch puts at its ResultPath.
type StateError = stateerr.Caught

// NotifyOutput identifies the published message.
type NotifyOutput struct {
	MessageID string `json:"messageId"`
}

// Package snapshot defines the records of a point-in-time backup of a user pool: one JSON line per
// user, one per group membership, and the manifest that lists and checksums every file.
package snapshot

import "time"

// User is one user of a pool as exported, with everything Cognito lets us read back.
// Attributes hold every attribute ListUsers returns, by name ("email", "email_verified",
// "custom:tenant", "sub", ...), values exactly as Cognito returns them (verified flags are
// the strings "true"/"false").
type User struct {
	Username   string            `json:"username"`
	Attributes map[string]string `json:"attributes"`
	Enabled    bool              `json:"enabled"`
	Status     string            `json:"status"`
	Created    time.Time         `json:"created"`
	Modified   time.Time         `json:"modified"`
	// MFA is set only when the export was asked for MFA preferences (one AdminGetUser per user).
	MFA *MFA `json:"mfa,omitempty"`
}

// MFA is a user's MFA configuration as AdminGetUser reports it.
type MFA struct {
	// Enabled lists the factors the user has enabled: "SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP".
	Enabled   []string `json:"enabled"`
	Preferred string   `json:"preferred,omitempty"`
}

// Membership is one user in one group.
type Membership struct {
	Group    string `json:"group"`
	Username string `json:"username"`
}

// Group is a group definition; memberships are stored apart from it.
type Group struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Precedence  *int32 `json:"precedence,omitempty"`
	RoleArn     string `json:"roleArn,omitempty"`
}

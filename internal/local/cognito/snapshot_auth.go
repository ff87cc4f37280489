package cognito

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// The saved form of what sign-ins and imports leave in the emulator besides the pools: app
// clients, sign-in sessions waiting on a challenge, grants (refresh tokens, and the origin of every
// access and ID token issued from them) with the key that signed those tokens, and import jobs.
// Outbox messages, triggers and upload URLs' keys are not kept: an upload URL from before a
// restart is refused, and DescribeUserImportJob gives a new one.

type savedAuth struct {
	// SigningKey is the RSA key of every pool's tokens, PKCS #8; absent when none was issued.
	SigningKey []byte         `json:",omitempty"`
	Clients    []savedClient  `json:",omitempty"`
	Sessions   []savedSession `json:",omitempty"`
	Grants     []savedGrant   `json:",omitempty"`
}

type savedClient struct {
	ID, PoolID, Region, Secret               string
	Flows                                    []types.ExplicitAuthFlowsType
	PreventUserExist                         bool
	AccessTTL, IDTTL, RefreshTTL, SessionTTL time.Duration
	Out                                      userPoolClientJSON
}

type savedSession struct {
	ID, PoolID, ClientID, Region string
	Sub                          [16]byte
	Username                     string
	Challenge                    types.ChallengeNameType
	Expires                      time.Time
	Code                         string `json:",omitempty"`
	Attempts                     int    `json:",omitempty"`
	TOTPVerified                 bool   `json:",omitempty"`
	Source                       string `json:",omitempty"`
}

type savedGrant struct {
	PoolID, ClientID   string
	Sub                [16]byte
	OriginJTI, Refresh string
	RefreshExpires     time.Time
	AuthTime           int64
	Revoked            bool `json:",omitempty"`
}

type savedImports struct {
	Seq  uint64
	Jobs []savedJob `json:",omitempty"`
}

type savedJob struct {
	Seq                         uint64
	ID, Name, PoolID, Region    string
	PoolName, RoleARN           string
	Created, Started, Completed time.Time
	Status                      string
	Imported, Skipped, Failed   int64
	Message                     string `json:",omitempty"`
	File                        []byte `json:",omitempty"`
	Uploaded                    bool   `json:",omitempty"`
}

// msgStackStopped ends a job that was running when the state was saved: no import resumes after
// a restart (the users it imported so far are in the saved pool).
const msgStackStopped = "The local stack stopped during the import."

type savedCode struct {
	Kind    MessageKind
	Code    string
	Attr    string `json:",omitempty"`
	Expires time.Time
}

type savedSignOut struct {
	Sub [16]byte
	At  int64 // Unix ms
}

func (e *Emulator) saveAuth() (savedAuth, error) {
	var sa savedAuth
	a := &e.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.key != nil {
		der, err := x509.MarshalPKCS8PrivateKey(a.key)
		if err != nil {
			return sa, fmt.Errorf("signing key: %w", err)
		}
		sa.SigningKey = der
	}
	for _, c := range a.clients {
		sc := savedClient{ID: c.id, PoolID: c.poolID, Region: c.region, Secret: c.secret, PreventUserExist: c.preventUserExist,
			AccessTTL: c.accessTTL, IDTTL: c.idTTL, RefreshTTL: c.refreshTTL, SessionTTL: c.sessionTTL, Out: c.out}
		for f, on := range c.flows {
			if on {
				sc.Flows = append(sc.Flows, f)
			}
		}
		slices.Sort(sc.Flows)
		sa.Clients = append(sa.Clients, sc)
	}
	sort.Slice(sa.Clients, func(i, j int) bool { return sa.Clients[i].ID < sa.Clients[j].ID })
	now := e.now()
	for _, s := range a.sessions {
		if now.After(s.expires) {
			continue
		}
		sa.Sessions = append(sa.Sessions, savedSession{ID: s.id, PoolID: s.poolID, ClientID: s.clientID, Region: s.region, Sub: s.sub,
			Username: s.username, Challenge: s.challenge, Expires: s.expires, Code: s.code, Attempts: s.attempts, TOTPVerified: s.totpVerified, Source: s.source})
	}
	sort.Slice(sa.Sessions, func(i, j int) bool { return sa.Sessions[i].ID < sa.Sessions[j].ID })
	// Revoked grants are kept too: a revoked token stays told apart from a forged one.
	for _, g := range a.grants.byOrigin {
		sa.Grants = append(sa.Grants, savedGrant{PoolID: g.poolID, ClientID: g.clientID, Sub: g.sub, OriginJTI: g.originJTI,
			Refresh: g.refresh, RefreshExpires: g.refreshExpires, AuthTime: g.authTime, Revoked: g.revoked})
	}
	sort.Slice(sa.Grants, func(i, j int) bool { return sa.Grants[i].OriginJTI < sa.Grants[j].OriginJTI })
	return sa, nil
}

func (e *Emulator) saveImports() savedImports {
	im := &e.imports
	im.mu.Lock()
	defer im.mu.Unlock()
	si := savedImports{Seq: im.seq}
	now := e.now()
	for _, j := range im.jobs {
		sj := savedJob{Seq: j.seq, ID: j.id, Name: j.name, PoolID: j.poolID, Region: j.region, PoolName: j.poolName, RoleARN: j.roleARN,
			Created: j.created, Started: j.started, Completed: j.completed, Status: j.status,
			Imported: j.imported, Skipped: j.skipped, Failed: j.failed, Message: j.message, File: j.file, Uploaded: j.uploaded}
		switch j.status {
		case jobPending, jobInProgress, jobStopping:
			sj.Status, sj.Message, sj.Completed, sj.File = jobFailed, msgStackStopped, now, nil
		}
		si.Jobs = append(si.Jobs, sj)
	}
	sort.Slice(si.Jobs, func(i, j int) bool { return si.Jobs[i].Seq < si.Jobs[j].Seq })
	return si
}

// checkAuthAndImports refuses saved clients, grants and jobs whose ids the emulator already
// holds, before anything is loaded.
func (e *Emulator) checkAuthAndImports(sa savedAuth, si savedImports) error {
	var taken []string
	e.auth.mu.Lock()
	for _, c := range sa.Clients {
		if e.auth.clients[c.ID] != nil {
			taken = append(taken, "app client "+c.ID)
		}
	}
	for _, g := range sa.Grants {
		if e.auth.grants.byOrigin[g.OriginJTI] != nil || e.auth.grants.byRefresh[g.Refresh] != nil {
			taken = append(taken, "grant "+g.OriginJTI)
		}
	}
	e.auth.mu.Unlock()
	e.imports.mu.Lock()
	for _, j := range si.Jobs {
		if e.imports.jobs[j.ID] != nil {
			taken = append(taken, "import job "+j.ID)
		}
	}
	e.imports.mu.Unlock()
	if len(taken) > 0 {
		return fmt.Errorf("cognito state: already exist: %s", strings.Join(taken, ", "))
	}
	return nil
}

// loadAuth puts back what saveAuth saved. The signing key is restored only into an emulator
// that has issued no token yet (tokens it issued would stop verifying); otherwise tokens saved
// with another key are refused as invalid, and their refresh tokens still work.
func (e *Emulator) loadAuth(sa savedAuth) error {
	if sa.SigningKey != nil {
		k, err := x509.ParsePKCS8PrivateKey(sa.SigningKey)
		if err != nil {
			return fmt.Errorf("cognito state: signing key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("cognito state: signing key is a %T, not RSA", k)
		}
		e.auth.keyOnce.Do(func() { e.auth.key = rk })
	}
	a := &e.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, sc := range sa.Clients {
		c := &appClient{id: sc.ID, poolID: sc.PoolID, region: sc.Region, secret: sc.Secret, flows: map[types.ExplicitAuthFlowsType]bool{},
			preventUserExist: sc.PreventUserExist, accessTTL: sc.AccessTTL, idTTL: sc.IDTTL, refreshTTL: sc.RefreshTTL, sessionTTL: sc.SessionTTL, out: sc.Out}
		for _, f := range sc.Flows {
			c.flows[f] = true
		}
		a.clients[c.id] = c
	}
	for _, s := range sa.Sessions {
		a.sessions[s.ID] = &session{id: s.ID, poolID: s.PoolID, clientID: s.ClientID, region: s.Region, sub: s.Sub, username: s.Username,
			challenge: s.Challenge, expires: s.Expires, code: s.Code, attempts: s.Attempts, totpVerified: s.TOTPVerified, source: s.Source}
	}
	for _, sg := range sa.Grants {
		g := &grant{poolID: sg.PoolID, clientID: sg.ClientID, sub: sg.Sub, originJTI: sg.OriginJTI, refresh: sg.Refresh,
			refreshExpires: sg.RefreshExpires, authTime: sg.AuthTime, revoked: sg.Revoked}
		a.grants.byOrigin[g.originJTI] = g
		a.grants.byRefresh[g.refresh] = g
		if !g.revoked {
			k := userKey(g.poolID, g.sub)
			a.grants.byUser[k] = append(a.grants.byUser[k], g)
		}
	}
	return nil
}

func (e *Emulator) loadImports(si savedImports) {
	im := &e.imports
	im.mu.Lock()
	defer im.mu.Unlock()
	im.seq = max(im.seq, si.Seq)
	for _, sj := range si.Jobs {
		im.jobs[sj.ID] = &importJob{seq: sj.Seq, id: sj.ID, name: sj.Name, poolID: sj.PoolID, region: sj.Region, poolName: sj.PoolName,
			roleARN: sj.RoleARN, created: sj.Created, started: sj.Started, completed: sj.Completed, status: sj.Status,
			imported: sj.Imported, skipped: sj.Skipped, failed: sj.Failed, message: sj.Message, file: sj.File, uploaded: sj.Uploaded}
	}
}

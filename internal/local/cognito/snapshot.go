package cognito

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// The saved form of the emulator's state (Save, Load): what a restarted local stack needs so a
// pool's id, configuration, MFA factors, groups, users (with their passwords, verified and
// pending software tokens and pending codes), identity providers, resource servers and domain are
// there again, with the app clients, sign-ins and import jobs (snapshot_auth.go).
type savedState struct {
	Pools   []savedPool
	Auth    savedAuth
	Imports savedImports
}

type savedPool struct {
	ID, Region, ARN string
	Created         time.Time
	Modified        time.Time
	Config          cip.CreateUserPoolInput
	MFA             savedMFA
	Groups          []savedGroup
	Users           []savedUser
	// Synthetic is a synthetic pool's spec and touched users (its stored users are in Users).
	Synthetic *savedSynthetic `json:",omitempty"`
	SignOuts  []savedSignOut  `json:",omitempty"`
	// Providers, Servers and Domain are absent from a state saved before they were kept.
	Providers []savedProvider              `json:",omitempty"`
	Servers   []types.ResourceServerType   `json:",omitempty"`
	Domain    *types.DomainDescriptionType `json:",omitempty"`
}

type savedProvider struct {
	Name, Type        string
	Details, Mapping  map[string]string `json:",omitempty"`
	Identifiers       []string          `json:",omitempty"`
	Created, Modified float64
}

type savedMFA struct {
	TOTP, SMS, Email bool
	SMSConfig        *types.SmsMfaConfigType   `json:",omitempty"`
	EmailConfig      *types.EmailMfaConfigType `json:",omitempty"`
}

type savedGroup struct {
	Name              string
	Description       *string `json:",omitempty"`
	Precedence        *int32  `json:",omitempty"`
	RoleArn           *string `json:",omitempty"`
	Created, Modified int64
}

type savedUser struct {
	// Seq is kept in a synthetic pool, where users changed since seeding keep their place.
	Seq                      uint64 `json:",omitempty"`
	Username                 string
	Sub                      [16]byte
	Attrs                    [][2]string
	Created, Modified        int64
	Groups                   []string `json:",omitempty"`
	Status                   uint8
	MFAEnabled, MFAPreferred uint8
	Enabled, SoftwareToken   bool
	PasswordSalt             []byte      `json:",omitempty"`
	PasswordHash             []byte      `json:",omitempty"`
	TempExpires              int64       `json:",omitempty"`
	TOTPSecret               string      `json:",omitempty"`
	PendingTOTP              string      `json:",omitempty"`
	Codes                    []savedCode `json:",omitempty"`
}

// Save writes every pool, with its groups and users, and the app clients, sign-ins and import
// jobs, to w as JSON. A job still running is saved as Failed (see msgStackStopped).
func (e *Emulator) Save(w io.Writer) error {
	e.mu.RLock()
	pools := make([]*pool, 0, len(e.pools))
	for _, p := range e.pools {
		pools = append(pools, p)
	}
	e.mu.RUnlock()
	sort.Slice(pools, func(i, j int) bool { return pools[i].id < pools[j].id })
	var st savedState
	for _, p := range pools {
		st.Pools = append(st.Pools, p.save())
	}
	var err error
	if st.Auth, err = e.saveAuth(); err != nil {
		return err
	}
	st.Imports = e.saveImports()
	return json.NewEncoder(w).Encode(st)
}

func (p *pool) save() savedPool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	sp := savedPool{ID: p.id, Region: p.region, ARN: p.arn, Created: p.created, Modified: p.modified, Config: p.cfg,
		MFA: savedMFA{TOTP: p.mfa.totp, SMS: p.mfa.sms, Email: p.mfa.email, SMSConfig: p.mfa.smsCfg, EmailConfig: p.mfa.emailCfg}}
	for _, g := range p.groups {
		sp.Groups = append(sp.Groups, savedGroup{Name: g.name, Description: g.description, Precedence: g.precedence, RoleArn: g.roleArn, Created: g.created, Modified: g.modified})
	}
	sort.Slice(sp.Groups, func(i, j int) bool { return sp.Groups[i].Name < sp.Groups[j].Name })
	if p.syn != nil {
		sp.Synthetic = p.syn.save()
	}
	for _, u := range p.all {
		if u.deleted {
			continue
		}
		su := savedUser{Username: u.username, Sub: u.sub, Created: u.created, Modified: u.modified, Status: u.status,
			MFAEnabled: u.mfaEnabled, MFAPreferred: u.mfaPreferred, Enabled: u.enabled, SoftwareToken: u.softwareToken}
		for _, a := range u.attrs {
			su.Attrs = append(su.Attrs, [2]string{a.name, a.value})
		}
		for _, g := range u.groups {
			su.Groups = append(su.Groups, g.name)
		}
		if a := u.auth; a != nil {
			su.PasswordSalt, su.PasswordHash, su.TempExpires, su.TOTPSecret, su.PendingTOTP = a.pwSalt, a.pwHash, a.tempExpires, a.totpSecret, a.pendingTOTP
			for _, c := range a.codes {
				su.Codes = append(su.Codes, savedCode{Kind: c.kind, Code: c.code, Attr: c.attr, Expires: c.expires})
			}
		}
		if p.syn != nil {
			su.Seq = u.seq
		}
		sp.Users = append(sp.Users, su)
	}
	for sub, at := range p.signOuts {
		sp.SignOuts = append(sp.SignOuts, savedSignOut{Sub: sub, At: at})
	}
	sort.Slice(sp.SignOuts, func(i, j int) bool { return string(sp.SignOuts[i].Sub[:]) < string(sp.SignOuts[j].Sub[:]) })
	for _, ip := range p.res.providers { // creation order, which ListIdentityProviders follows
		sp.Providers = append(sp.Providers, savedProvider{Name: ip.name, Type: ip.kind, Details: maps.Clone(ip.details), Mapping: maps.Clone(ip.mapping),
			Identifiers: slices.Clone(ip.identifiers), Created: ip.created, Modified: ip.modified})
	}
	for _, rs := range p.res.servers {
		c := *rs
		c.Scopes = slices.Clone(rs.Scopes)
		sp.Servers = append(sp.Servers, c)
	}
	if d := p.res.domain; d != nil {
		c := *d
		sp.Domain = &c
	}
	return sp
}

// Load adds what Save wrote to r. It refuses a pool, app client, grant or import job id the
// emulator already holds, before loading anything.
func (e *Emulator) Load(r io.Reader) error {
	var st savedState
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return fmt.Errorf("cognito state: %w", err)
	}
	restored := make([]*pool, 0, len(st.Pools))
	for _, sp := range st.Pools {
		p, err := restorePool(sp)
		if err != nil {
			return fmt.Errorf("cognito state: pool %s: %w", sp.ID, err)
		}
		restored = append(restored, p)
	}
	if err := e.checkAuthAndImports(st.Auth, st.Imports); err != nil {
		return err
	}
	e.mu.Lock()
	for _, p := range restored {
		if e.pools[p.id] != nil {
			e.mu.Unlock()
			return fmt.Errorf("cognito state: pool %s already exists", p.id)
		}
	}
	for _, p := range restored {
		e.pools[p.id] = p
	}
	e.mu.Unlock()
	if err := e.loadAuth(st.Auth); err != nil {
		return err
	}
	e.loadImports(st.Imports)
	return nil
}

func restorePool(sp savedPool) (*pool, error) {
	cfg := sp.Config
	p, err := newPool(sp.ID, sp.Region, sp.ARN, &cfg, sp.Created)
	if err != nil {
		return nil, err
	}
	p.modified = sp.Modified
	p.mfa = mfaFactors{totp: sp.MFA.TOTP, sms: sp.MFA.SMS, email: sp.MFA.Email, smsCfg: sp.MFA.SMSConfig, emailCfg: sp.MFA.EmailConfig}
	for _, sv := range sp.Providers {
		p.res.providers = append(p.res.providers, &identityProvider{name: sv.Name, kind: sv.Type, details: sv.Details, mapping: sv.Mapping,
			identifiers: sv.Identifiers, created: sv.Created, modified: sv.Modified})
	}
	for _, rs := range sp.Servers {
		p.res.servers = append(p.res.servers, &rs)
	}
	p.res.domain = sp.Domain
	for _, sg := range sp.Groups {
		p.groups[sg.Name] = &group{name: sg.Name, description: sg.Description, precedence: sg.Precedence, roleArn: sg.RoleArn, created: sg.Created, modified: sg.Modified}
	}
	for _, so := range sp.SignOuts {
		if p.signOuts == nil {
			p.signOuts = map[[16]byte]int64{}
		}
		p.signOuts[so.Sub] = so.At
	}
	if sp.Synthetic != nil {
		if err := p.restoreSynthetic(sp.Synthetic); err != nil {
			return nil, err
		}
	}
	for _, su := range sp.Users {
		u := &user{username: su.Username, sub: su.Sub, created: su.Created, modified: su.Modified, status: su.Status,
			mfaEnabled: su.MFAEnabled, mfaPreferred: su.MFAPreferred, enabled: su.Enabled, softwareToken: su.SoftwareToken}
		u.attrs = make([]attr, 0, len(su.Attrs))
		for _, a := range su.Attrs {
			name := a[0]
			if d := p.def[name]; d != nil {
				name = d.name // share the schema's string, as created users do
			}
			u.attrs = append(u.attrs, attr{name, a[1]})
		}
		if su.PasswordHash != nil || su.TOTPSecret != "" || su.PendingTOTP != "" || len(su.Codes) > 0 {
			u.auth = &userAuth{pwSalt: su.PasswordSalt, pwHash: su.PasswordHash, tempExpires: su.TempExpires, totpSecret: su.TOTPSecret, pendingTOTP: su.PendingTOTP}
			for _, c := range su.Codes {
				u.auth.codes = append(u.auth.codes, pendingCode{kind: c.Kind, code: c.Code, attr: c.Attr, expires: c.Expires})
			}
		}
		if p.syn != nil {
			if su.Seq == 0 {
				return nil, fmt.Errorf("user %s of a synthetic pool has no seq", su.Username)
			}
			u.seq = su.Seq
			p.place(u)
			p.nextSeq = max(p.nextSeq, u.seq+1)
		} else {
			p.insert(u)
		}
		for _, name := range su.Groups {
			if g := p.groups[name]; g != nil {
				g.add(u)
			}
		}
	}
	if p.syn != nil {
		p.count = p.syn.untouched() + len(sp.Users)
	}
	return p, nil
}

package failback

import (
	"slices"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// Action kinds, as written to the actions file and the report.
const (
	ActionUpdate         = "update"
	ActionAddToGroup     = "add-to-group"
	ActionDisablePrimary = "disable-primary"
)

// Action is one API change to make on the primary pool.
type Action struct {
	Kind string `json:"kind"`
	// Key identifies the user in both pools (email, phone number or username); admin calls on
	// the primary accept it as the username.
	Key        string            `json:"key"`
	DRUsername string            `json:"drUsername"`
	Set        map[string]string `json:"set,omitempty"`
	Unset      []string          `json:"unset,omitempty"`
	Group      string            `json:"group,omitempty"`

	// Was are the primary's values before the change of the attributes Set and Unset name, for
	// the approval page (approval.Change).
	Was map[string]string `json:"was,omitempty"`
}

// primarySubAttribute is where replication records a DR copy's primary sub (see workflows/replication).
const primarySubAttribute = "custom:primary_sub"

// notCarried are attributes that never go back: Cognito assigns them.
var notCarried = map[string]bool{"sub": true, "identities": true}

// planner decides, user by user, what the primary needs. It holds one compact entry per primary
// user (its key, attributes as one string, groups), not the users themselves.
type planner struct {
	keyAttr       string
	failover      time.Time
	applyDisables bool
	// writable are the primary's mutable attributes: only those can be carried back.
	writable map[string]bool

	primary       map[string]*primaryEntry
	primaryByName map[string]string
	// primaryBySub finds a primary user from a DR copy's custom:primary_sub, which survives an
	// email changed in the DR pool (the email would not match any more).
	primaryBySub map[string]string
	drByName     map[string]string
	importing    map[string]bool
	// disabledByUs are DR usernames an earlier failback disabled.
	disabledByUs map[string]bool
	counts       Counts
	samples      map[string][]string
}

type primaryEntry struct {
	attrs   string // canonical "k=v\x00…" of carried attributes
	enabled bool
	groups  []string
	inDR    bool
}

func newPlanner(keyAttr string, failover time.Time, applyDisables bool, writable map[string]bool) *planner {
	return &planner{
		keyAttr: keyAttr, failover: failover, applyDisables: applyDisables, writable: writable,
		primary: map[string]*primaryEntry{}, primaryByName: map[string]string{}, primaryBySub: map[string]string{}, drByName: map[string]string{},
		importing: map[string]bool{}, samples: map[string][]string{}, disabledByUs: map[string]bool{},
	}
}

// key is how a user is matched across pools: its sign-in attribute when the pools sign in by one
// (usernames are generated per pool then), else its username.
func (p *planner) key(u snapshot.User) string {
	if p.keyAttr == "" {
		return u.Username
	}
	v := u.Attributes[p.keyAttr]
	if p.keyAttr == "email" {
		v = strings.ToLower(v)
	}
	if v == "" {
		return "username:" + u.Username
	}
	return v
}

func (p *planner) carried(attrs map[string]string) map[string]string {
	out := make(map[string]string, len(attrs))
	for k, v := range attrs {
		if !notCarried[k] && p.writable[k] {
			out[k] = v
		}
	}
	return out
}

func (p *planner) addPrimary(u snapshot.User) {
	k := p.key(u)
	p.primary[k] = &primaryEntry{attrs: snapshot.PackAttributes(p.carried(u.Attributes)), enabled: u.Enabled}
	p.primaryByName[u.Username] = k
	if sub := u.Attributes["sub"]; sub != "" {
		p.primaryBySub[sub] = k
	}
	p.counts.PrimaryUsers++
}

func (p *planner) addPrimaryMembership(m snapshot.Membership) {
	if e := p.primary[p.primaryByName[m.Username]]; e != nil {
		e.groups = append(e.groups, m.Group)
	}
}

func (p *planner) sample(kind, key string) {
	if len(p.samples[kind]) < 5 {
		p.samples[kind] = append(p.samples[kind], key)
	}
}

// addDR classifies one DR user: import it, update the primary, or nothing. It returns the
// actions to write and whether the user goes to the import file.
func (p *planner) addDR(u snapshot.User) (actions []Action, importIt bool) {
	k := p.key(u)
	if pk, ok := p.primaryBySub[u.Attributes[primarySubAttribute]]; ok {
		// A replicated copy: its primary user, even if the copy's email changed during the outage.
		k = pk
	}
	p.drByName[u.Username] = k
	p.counts.DRUsers++
	e, ok := p.primary[k]
	if !ok {
		p.importing[k] = true
		p.counts.Import++
		p.sample("import", k)
		return nil, true
	}
	e.inDR = true
	changedInDR := u.Modified.After(p.failover)
	dr := p.carried(u.Attributes)
	if changedInDR && snapshot.PackAttributes(dr) != e.attrs {
		a := Action{Kind: ActionUpdate, Key: k, DRUsername: u.Username, Set: map[string]string{}}
		prim := snapshot.UnpackAttributes(e.attrs)
		for name, v := range dr {
			if prim[name] != v {
				a.Set[name] = v
			}
		}
		for name := range prim {
			if _, ok := dr[name]; !ok {
				a.Unset = append(a.Unset, name)
			}
		}
		// Cognito marks a changed email or phone number unverified unless the same call sets the
		// flag: always send the DR pool's flag with the address.
		for addr, flag := range map[string]string{"email": "email_verified", "phone_number": "phone_number_verified"} {
			if _, changed := a.Set[addr]; changed {
				if v, ok := dr[flag]; ok {
					a.Set[flag] = v
				}
			}
		}
		slices.Sort(a.Unset)
		a.Was = priorValues(prim, a)
		actions = append(actions, a)
		p.counts.Update++
		p.sample("update", k)
	}
	if changedInDR && !u.Enabled && e.enabled && !p.disabledByUs[u.Username] {
		p.counts.DisabledInDR++
		p.sample("disabled in DR", k)
		if p.applyDisables {
			actions = append(actions, Action{Kind: ActionDisablePrimary, Key: k, DRUsername: u.Username})
		}
	}
	if len(actions) == 0 {
		p.counts.Unchanged++
	}
	return actions, false
}

// addDRMembership returns the group add the primary needs for one DR membership, if any.
func (p *planner) addDRMembership(m snapshot.Membership) (Action, bool) {
	k, ok := p.drByName[m.Username]
	if !ok {
		return Action{}, false // the user left the DR pool while it was exported
	}
	if e := p.primary[k]; e != nil && slices.Contains(e.groups, m.Group) {
		return Action{}, false
	}
	if p.primary[k] == nil && !p.importing[k] {
		return Action{}, false
	}
	p.counts.GroupAdds++
	p.sample("group add", k)
	return Action{Kind: ActionAddToGroup, Key: k, DRUsername: m.Username, Group: m.Group}, true
}

// finish counts the primary users the DR pool does not have.
func (p *planner) finish() Counts {
	for k, e := range p.primary {
		if !e.inDR {
			p.counts.PrimaryOnly++
			p.sample("primary only", k)
		}
	}
	return p.counts
}

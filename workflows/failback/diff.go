package failback

import (
	"cmp"
	"slices"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/poolpair"
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
	// Key is the user's canonical key (poolpair.Matcher.Key): what the report joins on.
	Key string `json:"key"`
	// Username names the user in the primary exactly as the primary holds it (its username, or
	// the exact-case sign-in value a user about to be imported will have): the name every call
	// on the primary uses. Never the key, which may be lowercased.
	Username   string            `json:"username"`
	DRUsername string            `json:"drUsername"`
	Set        map[string]string `json:"set,omitempty"`
	Unset      []string          `json:"unset,omitempty"`
	Group      string            `json:"group,omitempty"`

	// Was are the primary's values before the change of the attributes Set and Unset name, for
	// the approval page (approval.Change).
	Was map[string]string `json:"was,omitempty"`
}

// PrimaryName is the name calls on the primary use (plans written before Username existed
// carry only the key).
func (a Action) PrimaryName() string { return cmp.Or(a.Username, a.Key) }

// Held is a DR user the plan refused to match to the primary user that has its key, one line of
// HeldFile. Nothing of it is applied to the primary.
type Held struct {
	Key        string `json:"key"`
	DRUsername string `json:"drUsername"`
	Kind       string `json:"kind"`
	Reason     string `json:"reason"`
}

// HeldFile lists the held DR users, under Plan.Prefix.
const HeldFile = "plan/held.jsonl.gz"

// matcher is how this plan matches users (plans written before Match existed carry only the
// sign-in attribute, matched in its exact case).
func (p Plan) matcher() poolpair.Matcher {
	if p.Match.Attribute == "" && p.UsernameAttribute != "" {
		return poolpair.Matcher{Attribute: p.UsernameAttribute}
	}
	return p.Match
}

// planner decides, user by user, what the primary needs. It holds one compact entry per primary
// user (its key, attributes as one string, groups), not the users themselves.
type planner struct {
	match poolpair.Matcher
	// trustSub is whether custom:primary_sub identifies a DR user's primary user: only when no DR
	// app client can write it (poolpair.Trust).
	trustSub      bool
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
	// importing maps the key of each user to import to the name it is imported under.
	importing map[string]string
	// disabledByUs are DR usernames an earlier failback disabled.
	disabledByUs map[string]bool
	counts       Counts
	samples      map[string][]string
}

type primaryEntry struct {
	username string
	attrs    string // canonical "k=v\x00…" of carried attributes
	enabled  bool
	groups   []string
	inDR     bool
}

func newPlanner(match poolpair.Matcher, trustSub bool, failover time.Time, applyDisables bool, writable map[string]bool) *planner {
	return &planner{
		match: match, trustSub: trustSub, failover: failover, applyDisables: applyDisables, writable: writable,
		primary: map[string]*primaryEntry{}, primaryByName: map[string]string{}, primaryBySub: map[string]string{}, drByName: map[string]string{},
		importing: map[string]string{}, samples: map[string][]string{}, disabledByUs: map[string]bool{},
	}
}

// carried are the attributes that can go back, verified flags in one form.
func (p *planner) carried(attrs map[string]string) map[string]string {
	out := make(map[string]string, len(attrs))
	for k, v := range attrs {
		if poolpair.Copied(k) && p.writable[k] {
			out[k] = v
		}
	}
	return poolpair.NormalizeVerified(out)
}

func (p *planner) addPrimary(u snapshot.User) {
	k := p.match.Key(u)
	p.primary[k] = &primaryEntry{username: u.Username, attrs: snapshot.PackAttributes(p.carried(u.Attributes)), enabled: u.Enabled}
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

// addDR classifies one DR user: import it, update the primary, hold it, or nothing. It returns
// the actions to write, whether the user goes to the import file, and the hold when held.
func (p *planner) addDR(u snapshot.User) (actions []Action, importIt bool, held *Held) {
	k := p.match.Key(u)
	bySub := false
	if sub := u.Attributes[poolpair.PrimarySubAttribute]; p.trustSub && sub != "" {
		if pk, ok := p.primaryBySub[sub]; ok {
			// A replicated copy: its primary user, even if the copy's email changed during the outage.
			k, bySub = pk, true
		}
	}
	p.counts.DRUsers++
	e, ok := p.primary[k]
	if !ok {
		p.drByName[u.Username] = k
		p.importing[k] = p.match.Name(u)
		p.counts.Import++
		p.sample("import", k)
		return nil, true, nil
	}
	if !bySub {
		// Anybody could have signed up in the DR pool with this address: only a confirmed user
		// whose address is verified may speak for the primary user that has it.
		if eligible, why := p.match.Eligible(u); !eligible {
			p.counts.UnverifiedDR++
			p.sample(poolpair.UnverifiedDRUser, k)
			return nil, false, &Held{Key: k, DRUsername: u.Username, Kind: poolpair.UnverifiedDRUser, Reason: why}
		}
	}
	p.drByName[u.Username] = k
	e.inDR = true
	changedInDR := u.Modified.After(p.failover)
	dr := p.carried(u.Attributes)
	if changedInDR && snapshot.PackAttributes(dr) != e.attrs {
		a := Action{Kind: ActionUpdate, Key: k, Username: e.username, DRUsername: u.Username, Set: map[string]string{}}
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
		for addr, flag := range poolpair.Contacts {
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
	// Disabled in DR is decided on Enabled alone, not on UserLastModifiedDate: AWS does not
	// document that AdminDisableUser moves it. Replication keeps a DR copy enabled while its
	// primary user is, so a DR user disabled while the primary user is enabled was disabled
	// during the outage — unless an earlier failback disabled it (its ledger says so).
	if !u.Enabled && e.enabled && !p.disabledByUs[u.Username] {
		p.counts.DisabledInDR++
		p.sample("disabled in DR", k)
		if p.applyDisables {
			actions = append(actions, Action{Kind: ActionDisablePrimary, Key: k, Username: e.username, DRUsername: u.Username})
		}
	}
	if len(actions) == 0 {
		p.counts.Unchanged++
	}
	return actions, false, nil
}

// addDRMembership returns the group add the primary needs for one DR membership, if any.
func (p *planner) addDRMembership(m snapshot.Membership) (Action, bool) {
	k, ok := p.drByName[m.Username]
	if !ok {
		return Action{}, false // held, or the user left the DR pool while it was exported
	}
	a := Action{Kind: ActionAddToGroup, Key: k, DRUsername: m.Username, Group: m.Group}
	switch e := p.primary[k]; {
	case e != nil && slices.Contains(e.groups, m.Group):
		return Action{}, false
	case e != nil:
		a.Username = e.username
	default:
		a.Username = p.importing[k]
	}
	p.counts.GroupAdds++
	p.sample("group add", k)
	return a, true
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

package failback

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/partition"
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
	Username   string `json:"username"`
	DRUsername string `json:"drUsername"`
	// DRKey is the DR user's own canonical key when it differs from Key: a user matched by its
	// primary sub whose sign-in value changed in the DR pool. The report joins on it.
	DRKey string            `json:"drKey,omitempty"`
	Set   map[string]string `json:"set,omitempty"`
	Unset []string          `json:"unset,omitempty"`
	Group string            `json:"group,omitempty"`

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

// planner decides, user by user, what the primary needs: one per bucket of the plan
// (partition.Layout), holding one compact entry per primary user of the bucket (its key,
// attributes as one string, groups), not the users themselves, while the bucket's DR users stream
// past, each with its groups and whether an earlier failback disabled it (partition.Record).
type planner struct {
	match poolpair.Matcher
	// trustSub is whether custom:primary_sub identifies a DR user's primary user: only when no DR
	// app client can write it (poolpair.Trust).
	trustSub      bool
	failover      time.Time
	applyDisables bool
	// writable are the primary's mutable attributes: only those can be carried back.
	writable map[string]bool

	primary map[string]*primaryEntry
	// primaryBySub finds a primary user from a DR copy's custom:primary_sub, which survives an
	// email changed in the DR pool (the email would not match any more).
	primaryBySub map[string]string
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
		primary: map[string]*primaryEntry{}, primaryBySub: map[string]string{}, samples: map[string][]string{},
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

// addPrimary holds one primary user of the bucket with its groups.
func (p *planner) addPrimary(r partition.Record) {
	u := r.User
	k := p.match.Key(u)
	p.primary[k] = &primaryEntry{username: u.Username, attrs: snapshot.PackAttributes(p.carried(u.Attributes)), enabled: u.Enabled, groups: r.Groups}
	if sub := u.Attributes["sub"]; sub != "" {
		p.primaryBySub[sub] = k
	}
}

// matched is whether a DR user of the bucket was matched to primary user u.
func (p *planner) matched(u snapshot.User) bool {
	e := p.primary[p.match.Key(u)]
	return e != nil && e.username == u.Username && e.inDR
}

func (p *planner) sample(kind, key string) {
	if len(p.samples[kind]) < 5 {
		p.samples[kind] = append(p.samples[kind], key)
	}
}

// addDR classifies one DR user in a phase: import it, update the primary, hold it, or nothing.
// It returns the actions to write (the user's group adds last), whether the user goes to the
// import file, and the hold when held. In the sub phase only a DR user whose trusted
// custom:primary_sub names a primary user of the bucket is planned (planned); the others wait for
// the key phase, where users match by key alone.
func (p *planner) addDR(r partition.Record, phase string) (actions []Action, importIt bool, held *Held, planned bool) {
	u := r.User
	k := p.match.Key(u)
	bySub := false
	if phase == partition.PhaseSub {
		sub := u.Attributes[poolpair.PrimarySubAttribute]
		pk, ok := p.primaryBySub[sub]
		if !p.trustSub || sub == "" || !ok {
			return nil, false, nil, false
		}
		// A replicated copy: its primary user, even if the copy's email changed during the outage.
		k, bySub = pk, true
	}
	p.counts.DRUsers++
	e, ok := p.primary[k]
	if !ok {
		p.counts.Import++
		p.sample("import", k)
		return p.groupAdds(r, k, p.match.Name(u), nil), true, nil, true
	}
	if !bySub {
		// Anybody could have signed up in the DR pool with this address: only a confirmed user
		// whose address is verified may speak for the primary user that has it.
		if eligible, why := p.match.Eligible(u); !eligible {
			p.counts.UnverifiedDR++
			p.sample(poolpair.UnverifiedDRUser, k)
			return nil, false, &Held{Key: k, DRUsername: u.Username, Kind: poolpair.UnverifiedDRUser, Reason: why}, true
		}
	}
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
	// during the outage — unless an earlier failback disabled it (its ledger marks it).
	if !u.Enabled && e.enabled && !r.Marked {
		p.counts.DisabledInDR++
		p.sample("disabled in DR", k)
		if p.applyDisables {
			actions = append(actions, Action{Kind: ActionDisablePrimary, Key: k, Username: e.username, DRUsername: u.Username})
		}
	}
	if len(actions) == 0 {
		p.counts.Unchanged++
	}
	actions = append(actions, p.groupAdds(r, k, e.username, e.groups)...)
	if own := p.match.Key(u); own != k {
		for i := range actions {
			actions[i].DRKey = own
		}
	}
	return actions, false, nil, true
}

// groupAdds are the group adds the primary needs for a planned DR user's memberships: those of
// its groups the primary user (named username there) lacks.
func (p *planner) groupAdds(r partition.Record, k, username string, have []string) []Action {
	var adds []Action
	for _, g := range r.Groups {
		if slices.Contains(have, g) {
			continue
		}
		adds = append(adds, Action{Kind: ActionAddToGroup, Key: k, Username: username, DRUsername: r.User.Username, Group: g})
		p.counts.GroupAdds++
		p.sample("group add", k)
	}
	return adds
}

// finish counts the bucket's primary users of a phase: in the sub phase those matched (the
// others are planned in the key phase), in the key phase all of them, and those the DR pool does
// not have.
func (p *planner) finish(phase string) Counts {
	for _, k := range slices.Sorted(maps.Keys(p.primary)) {
		e := p.primary[k]
		if phase == partition.PhaseSub && !e.inDR {
			continue
		}
		p.counts.PrimaryUsers++
		if !e.inDR {
			p.counts.PrimaryOnly++
			p.sample("primary only", k)
		}
	}
	return p.counts
}

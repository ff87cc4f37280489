package replication

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// Repair is one user's drift and what repairs it: a line of the drift list and of the repair
// list. Users are matched by primary sub (custom:primary_sub on the DR copy), then by sign-in
// attribute or username, so a changed email is an update, not a delete and a create.
type Repair struct {
	// Key is the user's sign-in attribute value (or username) in the primary pool, or in the DR
	// pool for deleted and DR-only users.
	Key string `json:"key"`
	// DRUsername is the DR copy's username; empty when it is missing.
	DRUsername string   `json:"drUsername,omitempty"`
	PrimarySub string   `json:"primarySub,omitempty"`
	Kinds      []string `json:"kinds"`
	// Create holds the attributes of a missing user; CreateAs the username it is created under.
	Create   map[string]string `json:"create,omitempty"`
	CreateAs string            `json:"createAs,omitempty"`
	Set      map[string]string `json:"set,omitempty"`
	Unset    []string          `json:"unset,omitempty"`
	// Enabled, when set, is the state the DR copy must be put in.
	Enabled      *bool    `json:"enabled,omitempty"`
	AddGroups    []string `json:"addGroups,omitempty"`
	RemoveGroups []string `json:"removeGroups,omitempty"`
	SetPassword  bool     `json:"setPassword,omitempty"`
	Delete       bool     `json:"delete,omitempty"`
	// Pending marks a user of the retry store: resolved there once repaired.
	Pending bool `json:"pending,omitempty"`
	// Modified is the primary user's last modification: the drift is at most this old.
	Modified *time.Time `json:"modified,omitempty"`
	// Note says why a user with drift is left alone (a held DR user, a copy that cannot be made).
	Note string `json:"note,omitempty"`
}

func (r *Repair) hasWork() bool {
	return r.Create != nil || len(r.Set) > 0 || len(r.Unset) > 0 || r.Enabled != nil || len(r.AddGroups) > 0 ||
		len(r.RemoveGroups) > 0 || r.SetPassword || r.Delete
}

// entry is one user of either pool, held compactly while the two exports are matched.
type entry struct {
	username, key, sub, primarySub string
	attrs                          string // canonical "k=v\x00…": for a primary user, its DR copy's attributes
	enabled                        bool
	status                         string
	modified                       time.Time
	groups                         []string
	match                          *entry
	pending                        bool
	// ineligible says why a DR user may not be matched by its key (poolpair.Matcher.Eligible);
	// heldBy is the ineligible DR user holding a primary user's key.
	ineligible string
	heldBy     *entry
}

// differ compares the users of a primary export with those of a DR export: one bucket of each
// (DiffBucket), so what it holds is bounded by the bucket, not the pool.
type differ struct {
	info  poolInfo
	match poolpair.Matcher
	// trustSub is whether custom:primary_sub identifies a DR user's primary user: only when no DR
	// app client can write it (poolpair.Trust).
	trustSub      bool
	mirrorDeletes bool
	pending       map[string]bool

	primary []*entry
	bySub   map[string]*entry
	byKey   map[string]*entry
	dr      []*entry
	drift   Drift
	list    []Repair
}

func newDiffer(info poolInfo, match poolpair.Matcher, trustSub, mirrorDeletes bool, pending map[string]bool) *differ {
	return &differ{
		info: info, match: match, trustSub: trustSub, mirrorDeletes: mirrorDeletes, pending: pending,
		bySub: map[string]*entry{}, byKey: map[string]*entry{},
	}
}

func (d *differ) addPrimary(u snapshot.User, groups []string) {
	sub := u.Attributes["sub"]
	attrs, _ := d.info.drAttributes(u.Attributes, sub, true)
	e := &entry{username: u.Username, key: d.match.Key(u), sub: sub, attrs: snapshot.PackAttributes(poolpair.NormalizeVerified(attrs)), enabled: u.Enabled, status: u.Status, modified: u.Modified, groups: groups, pending: d.pending[sub]}
	d.primary = append(d.primary, e)
	d.bySub[sub] = e
	d.byKey[e.key] = e
}

func (d *differ) addDR(u snapshot.User, groups []string) {
	attrs, _ := d.info.drAttributes(u.Attributes, u.Attributes[PrimarySubAttribute], true)
	e := &entry{username: u.Username, key: d.match.Key(u), primarySub: u.Attributes[PrimarySubAttribute], attrs: snapshot.PackAttributes(poolpair.NormalizeVerified(attrs)), enabled: u.Enabled, status: u.Status, modified: u.Modified, groups: groups}
	if ok, why := d.match.Eligible(u); !ok {
		e.ineligible = why
	}
	d.dr = append(d.dr, e)
}

// matchBySub matches DR users to primary users by primary sub, when it can be trusted.
func (d *differ) matchBySub() {
	if !d.trustSub {
		return
	}
	for _, e := range d.dr {
		if p := d.bySub[e.primarySub]; e.primarySub != "" && p != nil && p.match == nil {
			p.match, e.match = e, p
		}
	}
}

// matchByKey matches the users left by key, eligible DR users only.
func (d *differ) matchByKey() {
	for _, e := range d.dr {
		p := d.byKey[e.key]
		if e.match != nil || p == nil || p.match != nil {
			continue
		}
		if e.ineligible != "" {
			// Anybody could have signed up in the DR pool with this address: the primary user's
			// data is never copied onto it.
			p.heldBy = e
			continue
		}
		p.match, e.match = e, p
	}
}

// compare lists every user's drift once users are matched (matchBySub, then matchByKey). With
// matchedOnly it lists the matched users only and counts no other: the unmatched ones are
// compared in another bucket (the key phase of a partitioned comparison).
func (d *differ) compare(now time.Time, matchedOnly bool) {
	d.drift = Drift{Kinds: map[string]int{}}
	for _, p := range d.primary {
		if matchedOnly && p.match == nil {
			continue
		}
		d.drift.PrimaryUsers++
		r, skip := d.comparePrimary(p)
		if skip {
			d.drift.Skipped++
		}
		if len(r.Kinds) > 0 || r.Pending {
			d.list = append(d.list, r)
		}
	}
	for _, e := range d.dr {
		if matchedOnly && e.match == nil {
			continue
		}
		d.drift.DRUsers++
		if e.match != nil {
			continue
		}
		r := Repair{Key: e.key, DRUsername: e.username, PrimarySub: e.primarySub}
		switch {
		case e.ineligible != "" && d.byKey[e.key] != nil:
			r.Kinds, r.Note = []string{KindUnverifiedDR}, e.ineligible+", and a primary user has its "+cmp.Or(d.match.Attribute, "username")
		case e.primarySub != "" && d.trustSub:
			r.Kinds, r.Delete = []string{KindDeleted}, d.mirrorDeletes
		default:
			// Without a trusted primary sub, nothing proves the user was replicated: never deleted.
			r.Kinds = []string{KindDROnly}
		}
		d.list = append(d.list, r)
	}
	var oldest time.Time
	for _, r := range d.list {
		for _, k := range r.Kinds {
			d.drift.Kinds[k]++
		}
		if len(r.Kinds) > 0 && !slices.Equal(r.Kinds, []string{KindDROnly}) && !slices.Equal(r.Kinds, []string{KindUnverifiedDR}) && !awaitingOnly(r.Kinds) {
			d.drift.Users++
		}
		if r.Modified != nil && (oldest.IsZero() || r.Modified.Before(oldest)) {
			oldest = *r.Modified
		}
	}
	if !oldest.IsZero() {
		d.drift.OldestChange = &oldest
		d.drift.RPOSeconds = int64(max(0, now.Sub(oldest).Seconds()))
	}
}

func (d *differ) comparePrimary(p *entry) (r Repair, skipped bool) {
	r = Repair{Key: p.key, PrimarySub: p.sub, Pending: p.pending}
	modified := p.modified
	want := snapshot.UnpackAttributes(p.attrs)
	if p.match == nil {
		if p.status == "UNCONFIRMED" || p.status == "EXTERNAL_PROVIDER" {
			return r, true
		}
		r.Kinds, r.Modified = []string{KindMissing}, &modified
		if p.heldBy != nil {
			// Creating the copy would update the held DR user that has its key instead.
			r.DRUsername, r.Note = p.heldBy.username, "not copied: the DR pool's user with this "+cmp.Or(d.match.Attribute, "username")+" is held ("+p.heldBy.ineligible+")"
			return r, false
		}
		r.Create, r.CreateAs = want, d.info.username(want, p.username)
		if !p.enabled {
			r.Enabled = new(false)
		}
		r.AddGroups = slices.Sorted(slices.Values(p.groups))
		return r, false
	}
	e := p.match
	r.DRUsername = e.username
	have := snapshot.UnpackAttributes(e.attrs)
	kinds := map[string]bool{}
	// An unverified new address the DR pool would refuse to apply until verified: neither it nor
	// its flag is sent (the flag would un-verify the address the DR copy keeps).
	awaiting := map[string]bool{}
	for addr, flag := range poolpair.Contacts {
		if hv, had := have[addr]; had && d.info.keepsUntilVerified[addr] && want[addr] != "" && want[addr] != hv && !poolpair.Verified(want[flag]) {
			awaiting[addr], awaiting[flag] = true, true
			kinds[KindAwaitingVerification] = true
			r.Note = "the primary user's new " + addr + " is not verified yet; the DR pool keeps the original until it is, so it is copied once verified"
		}
	}
	for k, v := range want {
		if !d.info.mutable[k] || awaiting[k] {
			continue // an immutable attribute can only be set when the copy is created
		}
		if hv, ok := have[k]; !ok || hv != v {
			if r.Set == nil {
				r.Set = map[string]string{}
			}
			r.Set[k] = v
			kinds[attrKind(k)] = true
		}
	}
	// Changing an address un-verifies it unless the same call sets its verified flag.
	for addr, flag := range poolpair.Contacts {
		if v, ok := want[flag]; ok && r.Set[addr] != "" {
			r.Set[flag] = v
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok && d.info.mutable[k] {
			r.Unset = append(r.Unset, k)
			kinds[attrKind(k)] = true
		}
	}
	slices.Sort(r.Unset)
	if p.enabled != e.enabled {
		r.Enabled = new(p.enabled)
		kinds[KindEnabled] = true
	}
	for _, g := range p.groups {
		if !slices.Contains(e.groups, g) {
			r.AddGroups = append(r.AddGroups, g)
		}
	}
	for _, g := range e.groups {
		if !slices.Contains(p.groups, g) {
			r.RemoveGroups = append(r.RemoveGroups, g)
		}
	}
	slices.Sort(r.AddGroups)
	slices.Sort(r.RemoveGroups)
	if len(r.AddGroups)+len(r.RemoveGroups) > 0 {
		kinds[KindGroups] = true
	}
	if e.status == "FORCE_CHANGE_PASSWORD" && p.status != "UNCONFIRMED" {
		r.SetPassword = true
		kinds[KindPassword] = true
	}
	r.Kinds = slices.Sorted(maps.Keys(kinds))
	if len(r.Kinds) > 0 && !awaitingOnly(r.Kinds) {
		r.Modified = &modified
	}
	return r, false
}

// awaitingOnly: the user's only drift is an address awaiting verification in the primary, which
// no repair can bring over: not counted as a drifted user, nor in the RPO.
func awaitingOnly(kinds []string) bool {
	return slices.Equal(kinds, []string{KindAwaitingVerification})
}

func attrKind(name string) string {
	if strings.HasSuffix(name, "_verified") {
		return KindVerified
	}
	return KindAttributes
}

// repairs is the repair list: users with work or a retry-store entry, those of the retry store
// first, each group in key order.
func (d *differ) repairs() []Repair {
	var out []Repair
	for _, r := range d.list {
		if r.hasWork() || r.Pending {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Repair) int {
		if a.Pending != b.Pending {
			if a.Pending {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}

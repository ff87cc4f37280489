package cognito

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"
)

// synth is a synthetic pool's index: what finding its users needs, tens of bytes per user. User
// i has seq i+1, so the synthetic users come first in creation order; a user an API call changes
// or deletes is "touched": stored as any other user from then on (or gone), never generated again.
type synth struct {
	spec Synthetic
	subs [][16]byte // by index
	// bySub lists the indices in sub order, for lookups by sub (and so by username: it is the sub).
	bySub []uint32
	// shard1 and shard2 list the indices whose sub starts with each hex digit and each byte, in
	// index (creation) order: a sharded export's `sub ^= "x…"` pages read one of them.
	shard1 [16][]uint32
	shard2 [256][]uint32
	// members are each group's synthetic members in index order; a group deleted since seeding
	// has none (a new group of the same name starts empty).
	members map[string][]uint32
	touched []uint64 // bit per index
}

func (s *synth) isTouched(i int) bool { return s.touched[i>>6]&(1<<(i&63)) != 0 }
func (s *synth) touch(i int)          { s.touched[i>>6] |= 1 << (i & 63) }

// untouched counts the users still generated.
func (s *synth) untouched() int {
	n := 0
	for i := range s.spec.Users {
		if !s.isTouched(i) {
			n++
		}
	}
	return n
}

// indexBySub finds the untouched user with sub.
func (s *synth) indexBySub(sub [16]byte) (int, bool) {
	k, found := slices.BinarySearchFunc(s.bySub, sub, func(i uint32, sub [16]byte) int { return bytes.Compare(s.subs[i][:], sub[:]) })
	if !found || s.isTouched(int(s.bySub[k])) {
		return 0, false
	}
	return int(s.bySub[k]), true
}

// SeedSynthetic gives an empty pool spec's users, generated on demand (see Synthetic). Like
// SeedUsers it checks the users against the pool's schema (those of every form the generator
// makes) and creates missing groups; it refuses a pool that has or had users.
func (e *Emulator) SeedSynthetic(poolID string, spec Synthetic) error {
	e.mu.RLock()
	p := e.pools[poolID]
	e.mu.RUnlock()
	if p == nil {
		return fmt.Errorf("seed synthetic users: user pool %s does not exist", poolID)
	}
	if spec.Created.IsZero() {
		spec.Created = e.now().UTC()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nextSeq != 1 {
		return fmt.Errorf("seed synthetic users into %s: the pool already has users", poolID)
	}
	if err := p.seedSynthetic(spec, millis(e.now()), true); err != nil {
		return fmt.Errorf("seed synthetic users into %s: %w", poolID, err)
	}
	p.count += spec.Users
	p.nextSeq = uint64(spec.Users) + 1
	return nil
}

// seedSynthetic builds the index of spec's users; the caller holds the write lock and sets
// count and nextSeq.
func (p *pool) seedSynthetic(spec Synthetic, now int64, createGroups bool) error {
	if spec.Users < 0 || spec.Users >= 1<<32-1 {
		return fmt.Errorf("%d users: out of range", spec.Users)
	}
	// One user of each form the generator makes, checked as SeedUsers checks a user.
	samples := []int{0}
	if spec.Copy != nil {
		samples = append(samples, spec.Copy.Primary.Users)
	}
	for _, i := range samples {
		if i < spec.Users {
			if _, err := seededUser(p, spec.User(i), now, nil); err != nil {
				return fmt.Errorf("user %d: %w", i, err)
			}
		}
	}
	for _, name := range syntheticAttrs {
		if p.def[name] == nil {
			return errSchema("Type for attribute {%s} could not be determined", name)
		}
	}
	s := &synth{spec: spec, subs: make([][16]byte, spec.Users), bySub: make([]uint32, spec.Users),
		members: map[string][]uint32{}, touched: make([]uint64, (spec.Users+63)/64)}
	names := slices.Sorted(maps.Keys(spec.groupSpec()))
	for _, g := range names {
		if createGroups {
			if _, err := p.seedGroup(g, now); err != nil {
				return err
			}
		}
		s.members[g] = nil
	}
	for i := range spec.Users {
		sub := spec.sub(i)
		s.subs[i] = sub
		s.bySub[i] = uint32(i)
		s.shard1[sub[0]>>4] = append(s.shard1[sub[0]>>4], uint32(i))
		s.shard2[sub[0]] = append(s.shard2[sub[0]], uint32(i))
		for _, g := range spec.groupsFor(i) {
			s.members[g] = append(s.members[g], uint32(i))
		}
	}
	slices.SortFunc(s.bySub, func(a, b uint32) int { return bytes.Compare(s.subs[a][:], s.subs[b][:]) })
	for k := 1; k < len(s.bySub); k++ {
		if s.subs[s.bySub[k]] == s.subs[s.bySub[k-1]] {
			return fmt.Errorf("users %d and %d have the same sub", s.bySub[k-1], s.bySub[k])
		}
	}
	p.syn = s
	return nil
}

// groupSpec is the groups a spec's users are in.
func (s Synthetic) groupSpec() map[string]int {
	if s.Copy != nil {
		return s.Copy.Primary.Groups
	}
	return s.Groups
}

// generate is user i as the generator makes it, not stored: seq i+1, marked synthetic so a
// change stores it first (promote).
func (p *pool) generate(i int) *user {
	su := p.syn.spec.User(i)
	u, err := seededUser(p, su, 0, nil)
	if err != nil {
		// SeedSynthetic checked every form the generator makes against the schema, which
		// AddCustomAttributes only extends.
		panic(fmt.Sprintf("synthetic user %d of %s: %v", i, p.id, err))
	}
	u.seq = uint64(i) + 1
	u.synthetic = true
	for _, name := range su.Groups {
		if _, alive := p.syn.members[name]; alive {
			if g := p.groups[name]; g != nil {
				u.groups = append(u.groups, g)
			}
		}
	}
	return u
}

// promote stores a generated user, which from then on is changed as any stored user is. The
// caller holds the write lock.
func (p *pool) promote(u *user) *user {
	if !u.synthetic {
		return u
	}
	p.syn.touch(int(u.seq - 1))
	u.synthetic = false
	p.place(u)
	groups := u.groups
	u.groups = nil
	for _, g := range groups {
		g.add(u)
	}
	return u
}

// place stores u under its own seq, in creation order; it does not count it.
func (p *pool) place(u *user) {
	p.all = slices.Insert(p.all, after(p.all, u.seq), u)
	sh := &p.shards[u.shard()]
	*sh = slices.Insert(*sh, after(*sh, u.seq), u)
	p.byName[p.nameKey(u.username)] = u
	p.bySub[u.sub] = u
	p.indexAliases(u)
}

// forWrite is u ready to be changed: stored if it was generated.
func (p *pool) forWrite(u *user, write bool) *user {
	if u != nil && write {
		return p.promote(u)
	}
	return u
}

// synthSub reports whether an untouched synthetic user has sub.
func (p *pool) synthSub(sub [16]byte) bool {
	if p.syn == nil {
		return false
	}
	_, ok := p.syn.indexBySub(sub)
	return ok
}

// userBySub is the user with sub, stored or generated; write stores a generated one (promote).
func (p *pool) userBySub(sub [16]byte, write bool) *user {
	if u := p.bySub[sub]; u != nil {
		return u
	}
	if p.syn == nil {
		return nil
	}
	i, ok := p.syn.indexBySub(sub)
	if !ok {
		return nil
	}
	return p.forWrite(p.generate(i), write)
}

// userByName is the user whose username has key (nameKey), stored or generated.
func (p *pool) userByName(key string, write bool) *user {
	if u := p.byName[key]; u != nil {
		return u
	}
	if p.syn == nil {
		return nil
	}
	// A synthetic user's username is its sub, lowercase: in a case-sensitive pool only that
	// spelling names it.
	sub, ok := parseSub(key)
	if !ok || subString(sub) != key {
		return nil
	}
	return p.userBySub(sub, write)
}

// aliasOwner is the user holding sign-in alias key (aliasKeys), stored or generated.
func (p *pool) aliasOwner(key string, write bool) *user {
	if u := p.byAlias[key]; u != nil {
		return u
	}
	if p.syn == nil {
		return nil
	}
	_, value, _ := cutKey(key)
	i, ok := p.syn.spec.indexOfName(value)
	if !ok || p.syn.isTouched(i) {
		return nil
	}
	u := p.generate(i)
	if !slices.Contains(p.aliasKeys(u), key) {
		return nil
	}
	return p.forWrite(u, write)
}

func cutKey(key string) (kind, value string, ok bool) {
	for i := range len(key) {
		if key[i] == ':' {
			return key[:i], key[i+1:], true
		}
	}
	return "", key, false
}

// candidates are the synthetic users a read may return, in index order: all of them, one
// shard's, one group's, or one user.
type candidates struct {
	n    int      // all indices below n, when list is nil
	list []uint32 // else these
}

func (c candidates) len() int {
	if c.list == nil {
		return c.n
	}
	return len(c.list)
}

func (c candidates) at(k int) int {
	if c.list == nil {
		return k
	}
	return int(c.list[k])
}

// synthCandidates are the synthetic users a ListUsers filter may match.
func (p *pool) synthCandidates(f *filter) candidates {
	s := p.syn
	if s == nil {
		return candidates{list: []uint32{}}
	}
	if f == nil {
		return candidates{n: s.spec.Users}
	}
	switch f.attr {
	case "sub":
		if !f.prefix {
			sub, ok := parseSub(f.value)
			if i, found := s.indexBySub(sub); ok && found {
				return candidates{list: []uint32{uint32(i)}}
			}
			return candidates{list: []uint32{}}
		}
		if f.value == "" {
			return candidates{n: s.spec.Users}
		}
		var b [2]byte
		for k := 0; k < 2 && k < len(f.value); k++ {
			d, ok := hexDigit(f.value[k])
			if !ok {
				return candidates{list: []uint32{}}
			}
			b[k] = d
		}
		if len(f.value) == 1 {
			return candidates{list: s.shard1[b[0]]}
		}
		return candidates{list: s.shard2[b[0]<<4|b[1]]}
	case "email", "phone_number":
		if !f.prefix {
			if i, ok := s.spec.indexOfName(f.value); ok {
				return candidates{list: []uint32{uint32(i)}}
			}
			return candidates{list: []uint32{}}
		}
	}
	return candidates{n: s.spec.Users}
}

// hexDigit is the value of a lowercase hex digit: subs are rendered lowercase and a filter
// compares case-sensitively.
func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// pageMerged is page over stored users and synthetic candidates together, in seq order.
func (p *pool) pageMerged(stored []*user, c candidates, cursor uint64, limit int, f *filter, match func(*user) bool) (out []*user, more bool) {
	if p.syn == nil {
		return page(stored, cursor, limit, match)
	}
	si := after(stored, cursor)
	// First candidate with seq (index+1) above cursor.
	ci := searchCandidates(c, cursor)
	var buf [36]byte
	for si < len(stored) || ci < c.len() {
		var u *user
		if ci < c.len() && (si >= len(stored) || uint64(c.at(ci))+1 < stored[si].seq) {
			i := c.at(ci)
			ci++
			if p.syn.isTouched(i) {
				continue
			}
			// A sub prefix is checked on the index, without generating the user.
			if f != nil && f.attr == "sub" && f.prefix && !bytes.HasPrefix(renderSub(&p.syn.subs[i], &buf), f.raw) {
				continue
			}
			u = p.generate(i)
		} else {
			u = stored[si]
			si++
			if u.deleted {
				continue
			}
		}
		if match != nil && !match(u) {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, u)
	}
	return out, false
}

func searchCandidates(c candidates, cursor uint64) int {
	lo, hi := 0, c.len()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uint64(c.at(m))+1 <= cursor {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// groupCandidates are g's synthetic members.
func (p *pool) groupCandidates(g *group) candidates {
	if p.syn == nil {
		return candidates{list: []uint32{}}
	}
	return candidates{list: p.syn.members[g.name]}
}

// dropSyntheticGroup forgets the synthetic members of a deleted group.
func (p *pool) dropSyntheticGroup(name string) {
	if p.syn != nil {
		delete(p.syn.members, name)
	}
}

// savedSynthetic is what a saved synthetic pool keeps besides its stored users: the spec, the
// touched users and the groups deleted since seeding.
type savedSynthetic struct {
	Spec       Synthetic
	Touched    []uint32 `json:",omitempty"`
	DeadGroups []string `json:",omitempty"`
}

func (s *synth) save() *savedSynthetic {
	out := &savedSynthetic{Spec: s.spec}
	for i := range s.spec.Users {
		if s.isTouched(i) {
			out.Touched = append(out.Touched, uint32(i))
		}
	}
	for _, g := range slices.Sorted(maps.Keys(s.spec.groupSpec())) {
		if _, alive := s.members[g]; !alive {
			out.DeadGroups = append(out.DeadGroups, g)
		}
	}
	return out
}

// restoreSynthetic rebuilds a saved synthetic pool's index before its stored users are placed.
func (p *pool) restoreSynthetic(ss *savedSynthetic) error {
	if err := p.seedSynthetic(ss.Spec, millis(time.Now()), false); err != nil {
		return err
	}
	for _, i := range ss.Touched {
		if int(i) >= ss.Spec.Users {
			return fmt.Errorf("touched user %d of %d", i, ss.Spec.Users)
		}
		p.syn.touch(int(i))
	}
	for _, g := range ss.DeadGroups {
		delete(p.syn.members, g)
	}
	p.nextSeq = uint64(ss.Spec.Users) + 1
	return nil
}

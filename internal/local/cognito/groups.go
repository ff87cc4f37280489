package cognito

import (
	"encoding/binary"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

var groupNamePattern = regexp.MustCompile(`^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$`)

// maxGroupsPerUser is AWS's "Groups per user" quota.
const maxGroupsPerUser = 100

// group is a pool's group; members stay in creation (seq) order so ListUsersInGroup pages by cursor.
type group struct {
	name        string
	description *string
	precedence  *int32
	roleArn     *string
	created     int64
	modified    int64
	members     []*user
}

func (g *group) index(u *user) (int, bool) {
	return slices.BinarySearchFunc(g.members, u.seq, func(m *user, seq uint64) int {
		switch {
		case m.seq < seq:
			return -1
		case m.seq > seq:
			return 1
		}
		return 0
	})
}

func (g *group) add(u *user) bool {
	i, found := g.index(u)
	if found {
		return false
	}
	g.members = slices.Insert(g.members, i, u)
	u.groups = append(u.groups, g)
	return true
}

// remove drops u from g's members; the caller updates u.groups.
func (g *group) remove(u *user) {
	if i, found := g.index(u); found {
		g.members = slices.Delete(g.members, i, i+1)
	}
}

type groupJSON struct {
	GroupName        string
	UserPoolId       string
	Description      *string `json:",omitempty"`
	RoleArn          *string `json:",omitempty"`
	Precedence       *int32  `json:",omitempty"`
	CreationDate     float64
	LastModifiedDate float64
}

func (p *pool) groupJSON(g *group) groupJSON {
	return groupJSON{g.name, p.id, g.description, g.roleArn, g.precedence, float64(g.created) / 1000, float64(g.modified) / 1000}
}

func checkGroupName(n *string) (string, error) {
	if n == nil || *n == "" {
		return "", errNull("groupName")
	}
	if len(*n) > 128 || !groupNamePattern.MatchString(*n) {
		return "", errInvalidParameter("1 validation error detected: Value '%s' at 'groupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+", *n)
	}
	return *n, nil
}

// addGroup creates a group; the caller holds the pool's write lock.
func (p *pool) addGroup(in *cip.CreateGroupInput, now int64) (*group, error) {
	name, err := checkGroupName(in.GroupName)
	if err != nil {
		return nil, err
	}
	if in.Precedence != nil && *in.Precedence < 0 {
		return nil, checkRange("precedence", *in.Precedence, 0, 1<<31-1)
	}
	if p.groups[name] != nil {
		return nil, newError("GroupExistsException", "A group with the name %s already exists.", name)
	}
	g := &group{name: name, description: in.Description, precedence: in.Precedence, roleArn: in.RoleArn, created: now, modified: now}
	p.groups[name] = g
	return g, nil
}

func (e *Emulator) createGroup(region string, body []byte) (any, error) {
	var in cip.CreateGroupInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g, err := p.addGroup(&in, millis(e.now()))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Group": p.groupJSON(g)}, nil
}

// findGroup resolves pool and group, returning the pool locked (write if write, else read).
func (e *Emulator) findGroup(region string, poolID, groupName *string, write bool) (*pool, *group, error) {
	p, err := e.pool(region, poolID)
	if err != nil {
		return nil, nil, err
	}
	name, err := checkGroupName(groupName)
	if err != nil {
		return nil, nil, err
	}
	lock, unlock := p.mu.RLock, p.mu.RUnlock
	if write {
		lock, unlock = p.mu.Lock, p.mu.Unlock
	}
	lock()
	g := p.groups[name]
	if g == nil {
		unlock()
		return nil, nil, errGroupNotFound()
	}
	return p, g, nil
}

func (e *Emulator) getGroup(region string, body []byte) (any, error) {
	var in cip.GetGroupInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, g, err := e.findGroup(region, in.UserPoolId, in.GroupName, false)
	if err != nil {
		return nil, err
	}
	defer p.mu.RUnlock()
	return map[string]any{"Group": p.groupJSON(g)}, nil
}

func (e *Emulator) deleteGroup(region string, body []byte) (any, error) {
	var in cip.DeleteGroupInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, g, err := e.findGroup(region, in.UserPoolId, in.GroupName, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	for _, u := range g.members {
		u.groups = slices.DeleteFunc(u.groups, func(x *group) bool { return x == g })
	}
	delete(p.groups, g.name)
	p.dropSyntheticGroup(g.name)
	return struct{}{}, nil
}

// pageGroups returns up to limit groups named after the cursor, in name order.
func (e *Emulator) pageGroups(scope string, gs []*group, limit int, tok *string) ([]*group, *string, error) {
	start := ""
	if tok != nil && *tok != "" {
		b, err := e.openToken(scope, *tok)
		if err != nil {
			return nil, nil, err
		}
		start = string(b)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].name < gs[j].name })
	i := 0
	if start != "" {
		i = sort.Search(len(gs), func(i int) bool { return gs[i].name > start })
	}
	end := min(i+limit, len(gs))
	var next *string
	if end < len(gs) {
		next = aws.String(e.sealToken(scope, []byte(gs[end-1].name)))
	}
	return gs[i:end], next, nil
}

func (e *Emulator) listGroups(region string, body []byte) (any, error) {
	var in cip.ListGroupsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	gs := make([]*group, 0, len(p.groups))
	for _, g := range p.groups {
		gs = append(gs, g)
	}
	page, next, err := e.pageGroups("ListGroups\x00"+p.id, gs, limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		Groups    []groupJSON
		NextToken *string `json:",omitempty"`
	}{Groups: make([]groupJSON, len(page)), NextToken: next}
	for i, g := range page {
		out.Groups[i] = p.groupJSON(g)
	}
	return out, nil
}

func (e *Emulator) listUsersInGroup(region string, body []byte) (any, error) {
	var in cip.ListUsersInGroupInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit)
	if err != nil {
		return nil, err
	}
	p, g, err := e.findGroup(region, in.UserPoolId, in.GroupName, false)
	if err != nil {
		return nil, err
	}
	defer p.mu.RUnlock()
	scope := "ListUsersInGroup\x00" + p.id + "\x00" + g.name
	cur, err := e.memberCursor(scope, in.NextToken)
	if err != nil {
		return nil, err
	}
	found, more := p.pageMerged(g.members, p.groupCandidates(g), cur, limit, nil, nil)
	out := struct {
		Users     []userJSON
		NextToken *string `json:",omitempty"`
	}{Users: make([]userJSON, len(found))}
	for i, u := range found {
		out.Users[i] = toJSON(u, nil)
	}
	if more {
		out.NextToken = aws.String(e.memberToken(scope, found[len(found)-1].seq))
	}
	return out, nil
}

// memberTokenLifetime is how long a ListUsersInGroup token is accepted: the developer guide
// (how-to-manage-user-accounts) says user-listing tokens expire after an hour.
const memberTokenLifetime = time.Hour

// memberToken is a ListUsersInGroup token: the cursor and when it was issued, sealed.
func (e *Emulator) memberToken(scope string, seq uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seq)
	binary.BigEndian.PutUint64(b[8:], uint64(millis(e.now())))
	return e.sealToken(scope, b[:])
}

// memberCursor opens a ListUsersInGroup token; a forged, foreign or expired one is refused as an
// invalid parameter.
func (e *Emulator) memberCursor(scope string, tok *string) (uint64, error) {
	if tok == nil || *tok == "" {
		return 0, nil
	}
	b, err := e.openToken(scope, *tok)
	if err != nil || len(b) != 16 || millis(e.now())-int64(binary.BigEndian.Uint64(b[8:])) >= memberTokenLifetime.Milliseconds() {
		return 0, errInvalidParameter("Invalid pagination token.")
	}
	return binary.BigEndian.Uint64(b[:8]), nil
}

func (e *Emulator) membership(region string, body []byte, add bool) (any, error) {
	var in cip.AdminAddUserToGroupInput // AdminRemoveUserFromGroup has the same members
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, err := checkGroupName(in.GroupName); err != nil {
		return nil, err
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	g := p.groups[*in.GroupName]
	if g == nil {
		return nil, errGroupNotFound()
	}
	if add {
		if _, member := g.index(u); !member && len(u.groups) >= maxGroupsPerUser {
			return nil, newError("LimitExceededException", "Cannot add user to more than %d groups.", maxGroupsPerUser)
		}
		g.add(u)
		return struct{}{}, nil
	}
	g.remove(u)
	u.groups = slices.DeleteFunc(u.groups, func(x *group) bool { return x == g })
	return struct{}{}, nil
}

func (e *Emulator) adminAddUserToGroup(region string, body []byte) (any, error) {
	return e.membership(region, body, true)
}

func (e *Emulator) adminRemoveUserFromGroup(region string, body []byte) (any, error) {
	return e.membership(region, body, false)
}

func (e *Emulator) adminListGroupsForUser(region string, body []byte) (any, error) {
	var in cip.AdminListGroupsForUserInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit)
	if err != nil {
		return nil, err
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, false)
	if err != nil {
		return nil, err
	}
	defer p.mu.RUnlock()
	page, next, err := e.pageGroups("AdminListGroupsForUser\x00"+p.id+"\x00"+strings.ToLower(u.username), slices.Clone(u.groups), limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		Groups    []groupJSON
		NextToken *string `json:",omitempty"`
	}{Groups: make([]groupJSON, len(page)), NextToken: next}
	for i, g := range page {
		out.Groups[i] = p.groupJSON(g)
	}
	return out, nil
}

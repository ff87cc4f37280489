package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// TokenLifetime is how long Resume trusts a ListUsersInGroup pagination token it saved: the
// developer guide (how-to-manage-user-accounts) says Cognito expires user-listing tokens after an
// hour; the API reference says nothing of their lifetime. A saved token older than this, less
// tokenMargin for the call itself, is not tried: its group is listed again from its start.
const TokenLifetime = time.Hour

const tokenMargin = 5 * time.Minute

// Members is the progress of a resumable export's memberships. Groups are listed once
// (ListGroups); each group's members are then listed by ListUsersInGroup, resumable across
// invocations: a group is in Pending until every member of it is in a part of Parts.
type Members struct {
	// Groups is the groups file and GroupCount its rows.
	Groups     s3stream.Object `json:"groups"`
	GroupCount int             `json:"groupCount"`
	// Pending are the groups whose members are not all in Parts, with how far each got.
	Pending []GroupCursor `json:"pending"`
	// Parts are the memberships files committed so far, in order (the memberships index).
	Parts []snapshot.Part `json:"parts"`
	// Members counts the memberships in Parts.
	Members int `json:"members"`
	// Files numbers the memberships files written, committed or not: each gets its own key.
	Files int `json:"files"`
}

// GroupCursor is how far the listing of one group got. Its members reach Parts only when the
// whole group is listed: the segments of a group listed over several invocations are recorded
// here, then committed together with the last one.
type GroupCursor struct {
	Name string `json:"name"`
	// Segments are the group's members listed so far, one file per segment, not yet in Parts;
	// Listed counts their members.
	Segments []snapshot.Part `json:"segments,omitempty"`
	Listed   int             `json:"listed,omitempty"`
	// Token continues the listing after Segments; Issued is when Cognito returned it.
	Token  string    `json:"token,omitempty"`
	Issued time.Time `json:"issued,omitzero"`
	// Restarts counts the listings started again from the group's start (a saved token too old
	// or refused); Refused the tokens Cognito refused.
	Restarts int `json:"restarts,omitempty"`
	Refused  int `json:"refused,omitempty"`
}

// restart drops what the group's listing recorded: the next listing starts from its start.
// Dropped segments stay in the bucket but in no index, so a reader never sees them.
func (c *GroupCursor) restart() {
	c.Segments, c.Listed, c.Token, c.Issued = nil, 0, "", time.Time{}
	c.Restarts++
}

// alone reports whether the group must be listed alone, with the whole quota: Cognito refused its
// token, so it may have to be listed within one invocation.
func (c *GroupCursor) alone() bool { return c.Refused > 0 && c.Token == "" }

// segment is a piece of one group's listing, sent by listGroup to the run loop: members as one
// gzip member, and the token that continues after them. The last of a listing has end (the group
// is listed), refused (Cognito refused the token) or err set.
type segment struct {
	group   string
	gz      []byte
	rows    int
	token   string
	issued  time.Time
	end     bool
	refused bool
	err     error
}

// listGroup lists group c from its saved token, or its start, until the group ends or ctx does,
// sending a segment to out every Options.SegmentMembers members and a last one at its end.
//
// De-duplication: a listing continues after the last page Cognito answered, so a group that
// does not change lists each member once; a member listed twice within one segment (the group
// changing under the listing) is written once, as a shard's user is. Every member reaches Parts
// through exactly one listing of its group: a group restarted drops its recorded segments, and a
// group leaves Pending in the same checkpoint that adds its files to Parts.
func (e *Exporter) listGroup(ctx context.Context, pool string, c GroupCursor, out chan<- segment) {
	token := c.Token
	var buf bytes.Buffer
	lw := snapshot.NewLineWriter(&buf)
	seen := newNameSet()
	var issued time.Time
	flush := func(s segment) {
		s.group, s.token, s.issued = c.Name, token, issued
		if s.err == nil || seen.len() > 0 {
			if err := lw.Close(); err != nil && s.err == nil {
				s.err = err
			}
			s.gz, s.rows = slices.Clone(buf.Bytes()), seen.len()
		}
		out <- s
		buf.Reset()
		lw = snapshot.NewLineWriter(&buf)
		seen.reset()
	}
	for {
		page, err := e.membersPage(ctx, pool, c.Name, token)
		switch {
		case err != nil && ctx.Err() != nil:
			// Cut: what was listed is recorded, with the token that continues it.
			flush(segment{err: ctx.Err()})
			return
		case err != nil && token != "" && refusedToken(err):
			out <- segment{group: c.Name, refused: true, err: err}
			return
		case err != nil:
			out <- segment{group: c.Name, err: err}
			return
		}
		for _, u := range page.Users {
			name := aws.ToString(u.Username)
			if !seen.add(name) {
				continue
			}
			if err := lw.Write(snapshot.Membership{Group: c.Name, Username: name}); err != nil {
				out <- segment{group: c.Name, err: err}
				return
			}
		}
		token, issued = aws.ToString(page.NextToken), e.opts.now()
		if token == "" {
			flush(segment{end: true})
			return
		}
		if seen.len() >= e.opts.segmentMembers() {
			flush(segment{})
		}
	}
}

// refusedToken reports whether Cognito refused a pagination token. The API reference lists
// InvalidParameterException for ListUsersInGroup, and a public report (aws/aws-sdk-js#3705) shows
// a refused user-listing token as "Paging marker … is invalid for request …": any
// InvalidParameterException, or an error naming a token or marker, on a call that carried a
// token counts. Whatever the error, the group's listing restarts, so nothing is lost either way.
func refusedToken(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	if api.ErrorCode() == "InvalidParameterException" {
		return true
	}
	text := strings.ToLower(api.ErrorCode() + " " + api.ErrorMessage())
	return strings.Contains(text, "token") || strings.Contains(text, "marker")
}

// groupsFile lists every group of pool into the groups file and returns the memberships'
// progress, every group pending.
func (e *Exporter) groupsFile(ctx context.Context, store Store, bucket, prefix, pool string) (*Members, error) {
	var names []string
	obj, err := writeLines(ctx, store, bucket, prefix+GroupsFile, func(w *snapshot.LineWriter) error {
		var err error
		names, err = e.groupDefs(ctx, pool, func(g snapshot.Group) error { return w.Write(g) })
		return err
	})
	if err != nil {
		return nil, err
	}
	m := &Members{Groups: obj, GroupCount: len(names), Pending: make([]GroupCursor, len(names)), Parts: []snapshot.Part{}}
	for i, n := range names {
		m.Pending[i] = GroupCursor{Name: n}
	}
	return m, nil
}

// groupQueue orders the pending groups for one invocation: a group to list alone first, then the
// groups with a saved token, oldest first (before it expires), then the others.
func groupQueue(m *Members) []string {
	cs := slices.Clone(m.Pending)
	rank := func(c GroupCursor) int {
		switch {
		case c.alone():
			return 0
		case c.Token != "":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(cs, func(a, b GroupCursor) int {
		if r := rank(a) - rank(b); r != 0 {
			return r
		}
		return a.Issued.Compare(b.Issued)
	})
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}

// cursor is the pending group named name.
func (m *Members) cursor(name string) *GroupCursor {
	for i := range m.Pending {
		if m.Pending[i].Name == name {
			return &m.Pending[i]
		}
	}
	return nil
}

// putFile writes a memberships file under its own key and returns it as a part.
func (r *run) putFile(ctx context.Context, gz []byte, rows int) (snapshot.Part, error) {
	m := r.prog.Members
	key := fmt.Sprintf("%s%spart-%05d.jsonl.gz", r.prefix, snapshot.MembershipsPartsDir, m.Files+1)
	obj, err := s3stream.Put(ctx, r.store, r.bucket, key, gz)
	if err != nil {
		return snapshot.Part{}, fmt.Errorf("write memberships: %w", err)
	}
	m.Files++
	return snapshot.Part{Object: obj, Rows: rows}, nil
}

// startGroup returns the cursor a group's listing starts from: a saved token too old to trust is
// dropped, and the group listed again from its start.
func (r *run) startGroup(name string) GroupCursor {
	c := r.prog.Members.cursor(name)
	if c.Token != "" && r.e.opts.now().Sub(c.Issued) >= TokenLifetime-tokenMargin {
		c.restart()
	}
	return *c
}

// recordSegment takes one segment of a group's listing: a small group listed whole joins the
// shared memberships part; a piece of a larger one is written to its own file and recorded in the
// checkpoint with the token that continues it; the last piece commits the group. It reports
// whether the group's listing ended (listed, cut, refused or failed).
func (r *run) recordSegment(ctx context.Context, s segment) (ended bool, err error) {
	m := r.prog.Members
	c := m.cursor(s.group)
	switch {
	case s.refused:
		c.Refused++
		if c.Refused >= 2 {
			perSecond := r.e.pace.Rate("ListUsersInGroup") * pageSize
			return true, &stateerr.TaskFailed{Msg: fmt.Sprintf(
				"group %q of %s has more than %d members, more than one invocation listed alone at the UserList quota (%.0f members/s), and Cognito refused its pagination token in a later invocation twice (%v), so it must be listed within one invocation: it needs more than %.0f s; raise %s (at most 840) or the UserList quota and USER_LIST_RPS",
				c.Name, r.pool, c.Listed, perSecond, s.err, float64(c.Listed)/perSecond, BudgetSetting)}
		}
		// Listed again from its start, alone, by the next invocation, with its whole budget.
		c.restart()
		return true, nil
	case s.err != nil && !errors.Is(s.err, context.Canceled):
		return true, s.err
	case s.end && len(c.Segments) == 0:
		r.members.Write(s.gz)
		r.memberRows += s.rows
		r.memberGroups = append(r.memberGroups, s.group)
		if r.memberRows >= r.e.opts.partUsers() {
			return true, r.closeMembers(ctx)
		}
		return true, nil
	case s.rows == 0 && !s.end:
		return s.err != nil, nil // cut with nothing new: the recorded token stands
	}
	part, err := r.putFile(ctx, s.gz, s.rows)
	if err != nil {
		return true, err
	}
	c.Segments = append(c.Segments, part)
	c.Listed += s.rows
	c.Token, c.Issued = s.token, s.issued
	if s.end {
		m.Parts = append(m.Parts, c.Segments...)
		m.Members += c.Listed
		m.Pending = slices.DeleteFunc(m.Pending, func(p GroupCursor) bool { return p.Name == s.group })
	}
	return s.end || s.err != nil, checkpoint.Save(ctx, r.store, r.bucket, r.key, *r.prog)
}

// closeMembers writes the shared memberships part of the small groups listed whole and commits
// them: the part joins Parts and its groups leave Pending in one checkpoint.
func (r *run) closeMembers(ctx context.Context) error {
	if len(r.memberGroups) == 0 {
		return nil
	}
	m := r.prog.Members
	part, err := r.putFile(ctx, r.members.Bytes(), r.memberRows)
	if err != nil {
		return err
	}
	m.Parts = append(m.Parts, part)
	m.Members += r.memberRows
	done := map[string]bool{}
	for _, g := range r.memberGroups {
		done[g] = true
	}
	m.Pending = slices.DeleteFunc(m.Pending, func(p GroupCursor) bool { return done[p.Name] })
	r.members.Reset()
	r.memberRows, r.memberGroups = 0, nil
	return checkpoint.Save(ctx, r.store, r.bucket, r.key, *r.prog)
}

// finishMembers writes the memberships index once every group is listed.
func (r *run) finishMembers(ctx context.Context) error {
	m := r.prog.Members
	if m == nil || len(m.Pending) > 0 || r.prog.Groups != nil {
		return nil
	}
	idx, err := snapshot.MembershipsLayout.PutIndex(ctx, r.store, r.bucket, r.prefix, m.Parts)
	if err != nil {
		return fmt.Errorf("write the memberships index: %w", err)
	}
	r.prog.Groups = &GroupFiles{Groups: m.Groups, Memberships: idx, GroupCount: m.GroupCount, Members: m.Members}
	return nil
}

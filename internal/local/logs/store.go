// Package locallogs is an in-memory emulator of the Amazon CloudWatch Logs API (AWS JSON 1.1,
// X-Amz-Target Logs_20140328.<Op>) for tests and local runs. It serves the calls a reader of
// Cognito import results makes — log groups and streams, PutLogEvents, GetLogEvents with
// AWS's forward/backward tokens, FilterLogEvents with simple term patterns — and it is the
// sink the Cognito emulator writes those results to.
package logs

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Event is one stored log event; times are Unix milliseconds, as the API carries them.
type Event struct {
	Timestamp     int64
	IngestionTime int64
	Message       string
}

// Store holds log groups, streams and events. It is an http.Handler for the Logs API and safe
// for concurrent use.
type Store struct {
	clock     func() time.Time
	accountID string

	mu     sync.RWMutex
	groups map[string]*group // by region + "\x00" + name
	lag    int               // reads an event waits before GetLogEvents shows it; see SetDeliveryLag
}

type group struct {
	name, region string
	created      int64
	streams      map[string]*stream
}

type stream struct {
	name          string
	created       int64
	lastIngestion int64
	events        []Event // ordered by Timestamp, then arrival
	bytes         int64
	pending       []pendingEvent // written, not delivered yet (SetDeliveryLag)
}

type pendingEvent struct {
	ev    Event
	reads int // fresh reads of the stream left before it is delivered
}

// Options configure a Store.
type Options struct {
	// Clock gives creation and ingestion times; nil means time.Now.
	Clock func() time.Time
	// AccountID is used in ARNs; empty means "000000000000".
	AccountID string
}

// New returns an empty Store.
func New(opts Options) *Store {
	s := &Store{clock: opts.Clock, accountID: opts.AccountID, groups: map[string]*group{}}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.accountID == "" {
		s.accountID = "000000000000"
	}
	return s
}

func key(region, name string) string { return region + "\x00" + name }

// PutLogEvent appends one event, creating the group and stream if needed; it is the sink the
// Cognito emulator writes import results to.
func (s *Store) PutLogEvent(region, groupName, streamName string, t time.Time, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock().UnixMilli()
	g := s.groups[key(region, groupName)]
	if g == nil {
		g = &group{name: groupName, region: region, created: now, streams: map[string]*stream{}}
		s.groups[key(region, groupName)] = g
	}
	st := g.streams[streamName]
	if st == nil {
		st = &stream{name: streamName, created: now}
		g.streams[streamName] = st
	}
	ev := Event{Timestamp: t.UnixMilli(), IngestionTime: now, Message: message}
	if s.lag > 0 {
		st.pending = append(st.pending, pendingEvent{ev: ev, reads: s.lag})
		return
	}
	st.add(ev)
}

// SetDeliveryLag makes events written by PutLogEvent from now on invisible until their stream has
// been read from the start (GetLogEvents without a NextToken) reads more times: CloudWatch Logs
// does not promise when a writer's events become readable, and Cognito documents no moment at
// which an import job's row results are all in its log. 0 delivers at once.
func (s *Store) SetDeliveryLag(reads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lag = max(reads, 0)
}

// read counts one fresh read of a stream and delivers the events whose lag it ends.
func (s *Store) read(region, groupName, streamName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[key(region, groupName)]
	if g == nil || g.streams[streamName] == nil {
		return
	}
	st := g.streams[streamName]
	kept := st.pending[:0]
	for _, p := range st.pending {
		if p.reads--; p.reads <= 0 {
			st.add(p.ev)
		} else {
			kept = append(kept, p)
		}
	}
	st.pending = kept
}

// Events returns a copy of a stream's events in order; nil if the stream does not exist.
func (s *Store) Events(region, groupName, streamName string) []Event {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.groups[key(region, groupName)]
	if g == nil || g.streams[streamName] == nil {
		return nil
	}
	return slices.Clone(g.streams[streamName].events)
}

// Messages returns the messages of a stream's events in order.
func (s *Store) Messages(region, groupName, streamName string) []string {
	var out []string
	for _, ev := range s.Events(region, groupName, streamName) {
		out = append(out, ev.Message)
	}
	return out
}

// add keeps events ordered by timestamp, later arrivals after earlier ones of the same time.
func (st *stream) add(ev Event) {
	n := len(st.events)
	if n == 0 || st.events[n-1].Timestamp <= ev.Timestamp {
		st.events = append(st.events, ev)
	} else {
		i := sort.Search(n, func(i int) bool { return st.events[i].Timestamp > ev.Timestamp })
		st.events = slices.Insert(st.events, i, ev)
	}
	st.lastIngestion = ev.IngestionTime
	st.bytes += int64(len(ev.Message))
}

func (s *Store) groupARN(g *group) string {
	return "arn:aws:logs:" + g.region + ":" + s.accountID + ":log-group:" + g.name
}

// groupName resolves logGroupName or logGroupIdentifier (a name or an ARN), exactly one of which
// must be given.
func groupName(name, identifier string) (string, error) {
	switch {
	case name != "" && identifier != "":
		return "", errInvalidParameter("LogGroupName and LogGroupIdentifier are mutually exclusive parameters.")
	case name != "":
		return name, nil
	case identifier == "":
		return "", errInvalidParameter("Either LogGroupName or LogGroupIdentifier must be provided.")
	}
	if _, after, ok := strings.Cut(identifier, ":log-group:"); ok {
		return strings.TrimSuffix(after, ":*"), nil
	}
	return identifier, nil
}

// group finds a group; the caller holds s.mu.
func (s *Store) group(region, name string) (*group, error) {
	g := s.groups[key(region, name)]
	if g == nil {
		return nil, errGroupNotFound()
	}
	return g, nil
}

package logs

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

type savedGroup struct {
	Name, Region string
	Created      int64
	Streams      []savedStream
}

type savedStream struct {
	Name                   string
	Created, LastIngestion int64
	Events                 []Event
}

// Save writes every group, stream and event to w as JSON, events not yet delivered
// (SetDeliveryLag) included as delivered.
func (s *Store) Save(w io.Writer) error {
	s.mu.RLock()
	var out []savedGroup
	for _, g := range s.groups {
		sg := savedGroup{Name: g.name, Region: g.region, Created: g.created}
		for _, st := range g.streams {
			ss := savedStream{Name: st.name, Created: st.created, LastIngestion: st.lastIngestion, Events: append([]Event(nil), st.events...)}
			for _, p := range st.pending {
				ss.Events = append(ss.Events, p.ev)
			}
			sg.Streams = append(sg.Streams, ss)
		}
		sort.Slice(sg.Streams, func(i, j int) bool { return sg.Streams[i].Name < sg.Streams[j].Name })
		out = append(out, sg)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return key(out[i].Region, out[i].Name) < key(out[j].Region, out[j].Name) })
	return json.NewEncoder(w).Encode(out)
}

// Load adds the groups Save wrote to r, replacing any of the same Region and name.
func (s *Store) Load(r io.Reader) error {
	var in []savedGroup
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return fmt.Errorf("logs state: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sg := range in {
		g := &group{name: sg.Name, region: sg.Region, created: sg.Created, streams: map[string]*stream{}}
		for _, ss := range sg.Streams {
			st := &stream{name: ss.Name, created: ss.Created}
			for _, ev := range ss.Events {
				st.add(ev)
			}
			st.lastIngestion = ss.LastIngestion
			g.streams[ss.Name] = st
		}
		s.groups[key(sg.Region, sg.Name)] = g
	}
	return nil
}

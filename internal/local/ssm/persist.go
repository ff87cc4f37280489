package ssm

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// savedParameter is a parameter as Save writes it.
type savedParameter struct {
	Region, Name, Type, Value string
	Version                   int64
	Modified                  time.Time
}

// Save writes every parameter of every Region to w as JSON, with its type, version and
// modification time, so a restarted store answers as this one does.
func (s *Store) Save(w io.Writer) error {
	s.mu.Lock()
	var saved []savedParameter
	for region, params := range s.regions {
		for _, p := range params {
			saved = append(saved, savedParameter{Region: region, Name: p.name, Type: p.typ, Value: p.value, Version: p.version, Modified: p.modified})
		}
	}
	s.mu.Unlock()
	sort.Slice(saved, func(i, j int) bool {
		if saved[i].Region != saved[j].Region {
			return saved[i].Region < saved[j].Region
		}
		return saved[i].Name < saved[j].Name
	})
	return json.NewEncoder(w).Encode(struct{ Parameters []savedParameter }{saved})
}

// Load adds the parameters Save wrote to r. It refuses a parameter the store already holds,
// before loading anything.
func (s *Store) Load(r io.Reader) error {
	var st struct{ Parameters []savedParameter }
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return fmt.Errorf("parameter store state: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var taken []string
	for _, p := range st.Parameters {
		if p.Region == "" || p.Name == "" {
			return fmt.Errorf("parameter store state: a parameter without a Region or name")
		}
		if _, ok := s.regions[p.Region][p.Name]; ok {
			taken = append(taken, p.Region+" "+p.Name)
		}
	}
	if len(taken) > 0 {
		return fmt.Errorf("parameter store state: already exist: %s", strings.Join(taken, ", "))
	}
	for _, p := range st.Parameters {
		params := s.regions[p.Region]
		if params == nil {
			params = map[string]*parameter{}
			s.regions[p.Region] = params
		}
		params[p.Name] = &parameter{name: p.Name, typ: p.Type, value: p.Value, version: p.Version, modified: p.Modified}
	}
	return nil
}

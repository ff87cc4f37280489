// Package scheduler emulates the part of Amazon EventBridge Scheduler that Cognito DR calls:
// CreateSchedule, GetSchedule and UpdateSchedule (REST-JSON, /schedules/{Name}), per Region and
// schedule group. UpdateSchedule replaces the whole schedule with what it is sent, as AWS does:
// an optional field left out is reset. Schedules never fire here; the emulator only keeps them.
package scheduler

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultGroup is the schedule group of a request that names none.
const DefaultGroup = "default"

// Options configure a Store.
type Options struct {
	// AccountID appears in schedule ARNs.
	AccountID string
	// Clock stamps creation and modification dates; nil means time.Now.
	Clock func() time.Time
}

// Store holds schedules by Region, group and name. It is an http.Handler for the Scheduler API.
type Store struct {
	opts Options
	mu   sync.Mutex
	// schedules by Region, then group + "/" + name.
	schedules map[string]map[string]*schedule
}

// schedule is a schedule as sent (its definition) and the fields AWS adds.
type schedule struct {
	def      definition
	created  time.Time
	modified time.Time
}

// definition is the body of CreateSchedule and UpdateSchedule: every field a caller sets. Target
// and FlexibleTimeWindow are kept as sent, so they come back as they went in.
type definition struct {
	ActionAfterCompletion      string          `json:"ActionAfterCompletion,omitempty"`
	ClientToken                string          `json:"ClientToken,omitempty"`
	Description                string          `json:"Description,omitempty"`
	EndDate                    *float64        `json:"EndDate,omitempty"`
	FlexibleTimeWindow         json.RawMessage `json:"FlexibleTimeWindow,omitempty"`
	GroupName                  string          `json:"GroupName,omitempty"`
	KmsKeyArn                  string          `json:"KmsKeyArn,omitempty"`
	ScheduleExpression         string          `json:"ScheduleExpression,omitempty"`
	ScheduleExpressionTimezone string          `json:"ScheduleExpressionTimezone,omitempty"`
	StartDate                  *float64        `json:"StartDate,omitempty"`
	State                      string          `json:"State,omitempty"`
	Target                     json.RawMessage `json:"Target,omitempty"`
}

// New returns an empty Store.
func New(opts Options) *Store {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Store{opts: opts, schedules: map[string]map[string]*schedule{}}
}

type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func validation(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...)}
}

func notFound(group, name string) *apiError {
	return &apiError{http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("Schedule %s does not exist.", group+"/"+name)}
}

// ServeHTTP answers one Scheduler request. The Region is the SigV4 credential scope's.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	region := signedRegion(r.Header.Get("Authorization"))
	name, ok := strings.CutPrefix(r.URL.Path, "/schedules/")
	var out any
	var err error
	switch {
	case !ok || name == "" || strings.Contains(name, "/"):
		err = &apiError{http.StatusNotFound, "UnknownOperationException", "the local Scheduler serves only /schedules/{Name}"}
	case r.Method == http.MethodGet:
		out, err = s.get(region, groupOf(r.URL.Query().Get("groupName")), name)
	case r.Method == http.MethodPost, r.Method == http.MethodPut:
		var def definition
		body, rerr := io.ReadAll(r.Body)
		if rerr == nil {
			rerr = json.Unmarshal(body, &def)
		}
		if rerr != nil {
			err = validation("request body is not a schedule: %v", rerr)
			break
		}
		if r.Method == http.MethodPost {
			out, err = s.create(region, name, def)
		} else {
			out, err = s.update(region, name, def)
		}
	default:
		err = &apiError{http.StatusNotFound, "UnknownOperationException", r.Method + " is not served by the local Scheduler"}
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		e, ok := err.(*apiError)
		if !ok {
			e = &apiError{http.StatusInternalServerError, "InternalServerException", err.Error()}
		}
		w.Header().Set("X-Amzn-Errortype", e.code)
		w.WriteHeader(e.status)
		json.NewEncoder(w).Encode(map[string]string{"Message": e.message}) //nolint:errcheck // the client went away
		return
	}
	json.NewEncoder(w).Encode(out) //nolint:errcheck // the client went away
}

func groupOf(g string) string {
	if g == "" {
		return DefaultGroup
	}
	return g
}

// signedRegion is the Region of a SigV4 Authorization header's credential scope.
func signedRegion(auth string) string {
	_, after, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "us-east-1"
	}
	cred, _, _ := strings.Cut(after, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return "us-east-1"
	}
	return parts[2]
}

func (s *Store) arn(region, group, name string) string {
	return fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/%s/%s", region, s.opts.AccountID, group, name)
}

// check refuses a definition without the fields CreateSchedule and UpdateSchedule require.
func check(def definition) error {
	var missing []string
	if def.ScheduleExpression == "" {
		missing = append(missing, "ScheduleExpression")
	}
	if len(def.FlexibleTimeWindow) == 0 {
		missing = append(missing, "FlexibleTimeWindow")
	}
	var target struct{ Arn, RoleArn string }
	if len(def.Target) == 0 || json.Unmarshal(def.Target, &target) != nil || target.Arn == "" || target.RoleArn == "" {
		missing = append(missing, "Target (with Arn and RoleArn)")
	}
	if len(missing) > 0 {
		return validation("missing required fields: %s", strings.Join(missing, ", "))
	}
	switch def.State {
	case "", "ENABLED", "DISABLED":
	default:
		return validation("State %q is neither ENABLED nor DISABLED", def.State)
	}
	return nil
}

func (s *Store) create(region, name string, def definition) (any, error) {
	if err := check(def); err != nil {
		return nil, err
	}
	group := groupOf(def.GroupName)
	s.mu.Lock()
	defer s.mu.Unlock()
	byKey := s.schedules[region]
	if byKey == nil {
		byKey = map[string]*schedule{}
		s.schedules[region] = byKey
	}
	if _, ok := byKey[group+"/"+name]; ok {
		return nil, &apiError{http.StatusConflict, "ConflictException", fmt.Sprintf("Schedule %s already exists.", group+"/"+name)}
	}
	now := s.opts.Clock().UTC()
	def.GroupName, def.ClientToken = group, ""
	if def.State == "" {
		def.State = "ENABLED"
	}
	byKey[group+"/"+name] = &schedule{def: def, created: now, modified: now}
	return map[string]string{"ScheduleArn": s.arn(region, group, name)}, nil
}

// update replaces the schedule with def: fields def leaves out are reset, as in AWS.
func (s *Store) update(region, name string, def definition) (any, error) {
	if err := check(def); err != nil {
		return nil, err
	}
	group := groupOf(def.GroupName)
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[region][group+"/"+name]
	if !ok {
		return nil, notFound(group, name)
	}
	def.GroupName, def.ClientToken = group, ""
	if def.State == "" {
		def.State = "ENABLED"
	}
	sc.def, sc.modified = def, s.opts.Clock().UTC()
	return map[string]string{"ScheduleArn": s.arn(region, group, name)}, nil
}

func (s *Store) get(region, group, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[region][group+"/"+name]
	if !ok {
		return nil, notFound(group, name)
	}
	type getOutput struct {
		definition
		Arn                  string  `json:"Arn"`
		Name                 string  `json:"Name"`
		CreationDate         float64 `json:"CreationDate"`
		LastModificationDate float64 `json:"LastModificationDate"`
	}
	return getOutput{definition: sc.def, Arn: s.arn(region, group, name), Name: name,
		CreationDate: epoch(sc.created), LastModificationDate: epoch(sc.modified)}, nil
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// State is a schedule's State (ENABLED or DISABLED), for tests; ok is false when there is none.
func (s *Store) State(region, group, name string) (state string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[region][groupOf(group)+"/"+name]
	if !ok {
		return "", false
	}
	return sc.def.State, true
}

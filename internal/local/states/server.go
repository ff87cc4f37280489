// Package states serves the AWS Step Functions API (the AWS JSON 1.0 protocol, X-Amz-Target
// AWSStepFunctions.<Op>) for state machines registered at start, with every execution run by the
// local executor (internal/local/asl). The AWS CLI and the SDK's sfn client work against it
// unchanged: ListStateMachines, DescribeStateMachine, StartExecution, DescribeExecution,
// ListExecutions, GetExecutionHistory, StopExecution and SendTaskSuccess / SendTaskFailure /
// SendTaskHeartbeat. Creating, updating or deleting state machines is not served: the machines
// are the project's own, registered by the caller.
package states

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
)

// Machine is a state machine to register: its ARN, the definition as deployed (placeholders
// substituted), the role it runs as, and the executor that runs it. The executor's
// WithStateMachineARN must be ARN, so execution ARNs agree.
type Machine struct {
	ARN        string
	Definition []byte
	RoleARN    string
	Executor   *asl.Executor
}

// Server is the Step Functions API. It is an http.Handler, safe for concurrent use.
type Server struct {
	now    func() time.Time
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	machines []*machine // registration order
	byARN    map[string]*machine
	execs    map[string]*execution // by execution ARN
	seq      int
}

type machine struct {
	Machine
	name    string
	created time.Time
	types   map[string]string // state name → state type, for history event types
	execs   []*execution      // start order
}

type execution struct {
	x       run
	arn     string
	name    string
	m       *machine
	input   string
	seq     int
	started time.Time
}

// New returns a Server with no state machines. now is the clock of creation dates; nil means
// time.Now.
func New(now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{now: now, ctx: ctx, cancel: cancel, byARN: map[string]*machine{}, execs: map[string]*execution{}}
}

// Register adds a state machine.
func (s *Server) Register(m Machine) error {
	name, ok := machineName(m.ARN)
	if !ok {
		return fmt.Errorf("register %q: not a state machine ARN", m.ARN)
	}
	parsed, err := asl.Parse(m.Definition)
	if err != nil {
		return fmt.Errorf("register %s: %w", m.ARN, err)
	}
	types := map[string]string{}
	parsed.Walk(func(st *asl.State) { types[st.Name] = st.Type })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byARN[m.ARN] != nil {
		return fmt.Errorf("register %s: already registered", m.ARN)
	}
	mm := &machine{Machine: m, name: name, created: s.now(), types: types}
	s.machines = append(s.machines, mm)
	s.byARN[m.ARN] = mm
	return nil
}

// Execution returns the running or finished execution with this ARN, for tests and tools that
// wait on it (Wait, Done) rather than poll.
func (s *Server) Execution(arn string) (*asl.Execution, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.execs[arn]
	if !ok {
		return nil, false
	}
	x, ok := e.x.(*asl.Execution) // not one loaded from a saved state
	return x, ok
}

// Close aborts every running execution started through the API.
func (s *Server) Close() { s.cancel() }

// apiError is an error of the Step Functions API: its exception name and message.
type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func errorf(typ, format string, a ...any) error {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, a...)}
}

const contentType = "application/x-amz-json-1.0"

// ServeHTTP answers one API call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, errorf("UnknownOperationException", "requests are POST / with X-Amz-Target AWSStepFunctions.<Operation>"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, errorf("SerializationException", "read request: %v", err))
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	handler, ok := s.operations(requestRegion(r))[op]
	if !ok {
		writeError(w, errorf("UnknownOperationException", "operation %s is not served by the local Step Functions", op))
		return
	}
	out, err := handler(body)
	if err != nil {
		writeError(w, err)
		return
	}
	raw, err := json.Marshal(out)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Write(raw) //nolint:errcheck // the client went away
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	status := http.StatusBadRequest
	if !errors.As(err, &ae) {
		ae = &apiError{Type: "InternalFailure", Message: err.Error()}
		status = http.StatusInternalServerError
	}
	raw, _ := json.Marshal(ae)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-ErrorType", ae.Type)
	w.WriteHeader(status)
	w.Write(raw) //nolint:errcheck // the client went away
}

// requestRegion is the Region of the request's SigV4 credential scope
// (Credential=AKID/20260101/ap-northeast-3/states/aws4_request), or "" when unsigned.
func requestRegion(r *http.Request) string {
	_, after, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ := strings.Cut(after, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[2]
}

func (s *Server) operations(region string) map[string]func([]byte) (any, error) {
	return map[string]func([]byte) (any, error){
		"ListStateMachines":    decoded(func(in listStateMachinesIn) (any, error) { return s.listStateMachines(in, region) }),
		"DescribeStateMachine": decoded(s.describeStateMachine),
		"StartExecution":       decoded(s.startExecution),
		"DescribeExecution":    decoded(s.describeExecution),
		"ListExecutions":       decoded(s.listExecutions),
		"GetExecutionHistory":  decoded(s.getExecutionHistory),
		"StopExecution":        decoded(s.stopExecution),
		"SendTaskSuccess":      decoded(s.sendTaskSuccess),
		"SendTaskFailure":      decoded(s.sendTaskFailure),
		"SendTaskHeartbeat":    decoded(s.sendTaskHeartbeat),
	}
}

// decoded adapts an operation on a typed request to the raw body.
func decoded[In any](op func(In) (any, error)) func([]byte) (any, error) {
	return func(body []byte) (any, error) {
		var in In
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, errorf("SerializationException", "request body: %v", err)
		}
		return op(in)
	}
}

// epoch is a timestamp as the JSON protocols send it: seconds since the epoch, with
// milliseconds.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return fmt.Appendf(nil, "%d.%03d", ms/1000, ms%1000), nil
}

func ptrEpoch(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// ARNs: arn:aws:states:<region>:<account>:stateMachine:<name> and
// arn:aws:states:<region>:<account>:execution:<machine name>:<execution name>.
func splitARN(arn, resource string, parts int) ([]string, bool) {
	p := strings.Split(arn, ":")
	if len(p) != 6+parts || p[0] != "arn" || p[1] == "" || p[2] != "states" || p[3] == "" || p[4] == "" || p[5] != resource {
		return nil, false
	}
	for _, x := range p[6:] {
		if x == "" {
			return nil, false
		}
	}
	return p, true
}

func machineName(arn string) (string, bool) {
	p, ok := splitARN(arn, "stateMachine", 1)
	if !ok {
		return "", false
	}
	return p[6], true
}

// pageSize applies maxResults: 0 means the default of 100, and at most 1000.
func pageSize(n int) (int, error) {
	switch {
	case n == 0:
		return 100, nil
	case n < 0 || n > 1000:
		return 0, errorf("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", n)
	}
	return n, nil
}

// Page tokens name the request they continue and the position after the last item returned.
type pageToken struct {
	For   string `json:"f"`
	After int    `json:"a"`
}

func encodeToken(forReq string, after int) *string {
	raw, _ := json.Marshal(pageToken{For: forReq, After: after})
	tok := base64.RawURLEncoding.EncodeToString(raw)
	return &tok
}

func decodeToken(tok, forReq string) (int, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	var p pageToken
	if err == nil {
		err = json.Unmarshal(raw, &p)
	}
	if err != nil || p.For != forReq {
		return 0, errorf("InvalidToken", "Invalid Token: '%s'", tok)
	}
	return p.After, nil
}

// --- state machines

type listStateMachinesIn struct {
	MaxResults int    `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

type stateMachineItem struct {
	StateMachineArn string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Type            string `json:"type"`
	CreationDate    epoch  `json:"creationDate"`
}

// listStateMachines lists the machines of the caller's Region (all of them for an unsigned call).
func (s *Server) listStateMachines(in listStateMachinesIn, reg string) (any, error) {
	size, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	start := 0
	if in.NextToken != "" {
		if start, err = decodeToken(in.NextToken, "ListStateMachines"); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		StateMachines []stateMachineItem `json:"stateMachines"`
		NextToken     *string            `json:"nextToken,omitempty"`
	}{StateMachines: []stateMachineItem{}}
	for i := start; i < len(s.machines) && len(out.StateMachines) < size; i++ {
		m := s.machines[i]
		if reg != "" && region(m.ARN) != reg {
			continue
		}
		out.StateMachines = append(out.StateMachines, stateMachineItem{StateMachineArn: m.ARN, Name: m.name, Type: "STANDARD", CreationDate: epoch(m.created)})
		if len(out.StateMachines) == size && i+1 < len(s.machines) {
			out.NextToken = encodeToken("ListStateMachines", i+1)
		}
	}
	return out, nil
}

type machineIn struct {
	StateMachineArn string `json:"stateMachineArn"`
}

// machine finds a registered machine; the caller holds s.mu.
func (s *Server) machine(arn string) (*machine, error) {
	if arn == "" {
		return nil, errorf("ValidationException", "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null")
	}
	if _, ok := machineName(arn); !ok {
		return nil, errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	m := s.byARN[arn]
	if m == nil {
		return nil, errorf("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
	}
	return m, nil
}

func (s *Server) describeStateMachine(in machineIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.machine(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"stateMachineArn":      m.ARN,
		"name":                 m.name,
		"status":               "ACTIVE",
		"definition":           string(m.Definition),
		"roleArn":              m.RoleARN,
		"type":                 "STANDARD",
		"creationDate":         epoch(m.created),
		"loggingConfiguration": map[string]any{"level": "OFF", "includeExecutionData": false},
		"tracingConfiguration": map[string]any{"enabled": false},
	}, nil
}

// --- executions

type startExecutionIn struct {
	StateMachineArn string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Input           *string `json:"input"`
}

type startExecutionOut struct {
	ExecutionArn string `json:"executionArn"`
	StartDate    epoch  `json:"startDate"`
}

// maxInput is StartExecution's input length limit (and the 256 KiB payload quota).
const maxInput = 262144

// validName applies the API reference's rules for execution names.
func validName(n string) bool {
	if n == "" || len([]rune(n)) > 80 {
		return false
	}
	for _, r := range n {
		if r <= 0x20 || (r >= 0x7f && r <= 0x9f) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return false
		}
	}
	return true
}

func (s *Server) startExecution(in startExecutionIn) (any, error) {
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	if len(input) > maxInput {
		return nil, errorf("ValidationException", "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to %d", maxInput)
	}
	if !json.Valid([]byte(input)) {
		return nil, errorf("InvalidExecutionInput", "Invalid State Machine Execution Input: 'input is not valid JSON'")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.machine(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	name := in.Name
	if name == "" {
		name = uuid.NewString()
	} else if !validName(name) {
		return nil, errorf("InvalidName", "Invalid Name: '%s'", name)
	}
	arn := strings.Replace(m.ARN, ":stateMachine:", ":execution:", 1) + ":" + name
	if prev := s.execs[arn]; prev != nil {
		// A repeated start of a running execution with the same input is idempotent.
		if prev.input == input && prev.x.Status() == asl.StatusRunning {
			return startExecutionOut{ExecutionArn: arn, StartDate: epoch(prev.started)}, nil
		}
		return nil, errorf("ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
	}
	x, err := m.Executor.Start(s.ctx, name, json.RawMessage(input))
	if err != nil {
		if strings.Contains(err.Error(), "ExecutionAlreadyExists") {
			return nil, errorf("ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
		}
		return nil, errorf("InvalidExecutionInput", "Invalid State Machine Execution Input: '%v'", err)
	}
	s.seq++
	e := &execution{x: x, arn: x.ARN, name: x.Name, m: m, input: input, seq: s.seq, started: startTime(x)}
	s.execs[x.ARN] = e
	m.execs = append(m.execs, e)
	return startExecutionOut{ExecutionArn: x.ARN, StartDate: epoch(e.started)}, nil
}

func startTime(x run) time.Time {
	if h := x.History(); len(h) > 0 {
		return h[0].Time
	}
	return time.Time{}
}

// stopTime is the time of the execution's last event once it has ended.
func stopTime(x run) time.Time {
	select {
	case <-x.Done():
	default:
		return time.Time{}
	}
	h := x.History()
	return h[len(h)-1].Time
}

type executionIn struct {
	ExecutionArn string `json:"executionArn"`
}

func (s *Server) execution(arn string) (*execution, error) {
	if arn == "" {
		return nil, errorf("ValidationException", "1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: Member must not be null")
	}
	if _, ok := splitARN(arn, "execution", 2); !ok {
		return nil, errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.execs[arn]
	if e == nil {
		return nil, errorf("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
	}
	return e, nil
}

func (s *Server) describeExecution(in executionIn) (any, error) {
	e, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	x := e.x
	out := map[string]any{
		"executionArn":    e.arn,
		"stateMachineArn": e.m.ARN,
		"name":            e.name,
		"status":          string(x.Status()),
		"startDate":       epoch(e.started),
		"input":           e.input,
		"inputDetails":    map[string]bool{"included": true},
		"redriveCount":    0,
		"redriveStatus":   "NOT_REDRIVABLE",
	}
	if stop := stopTime(x); !stop.IsZero() {
		out["stopDate"] = epoch(stop)
	}
	switch x.Status() {
	case asl.StatusSucceeded:
		out["output"] = string(x.Output())
		out["outputDetails"] = map[string]bool{"included": true}
	case asl.StatusFailed, asl.StatusTimedOut, asl.StatusAborted:
		if n := x.ErrorName(); n != "" {
			out["error"] = n
		}
		if c := x.Cause(); c != "" {
			out["cause"] = c
		}
	}
	return out, nil
}

type listExecutionsIn struct {
	StateMachineArn string `json:"stateMachineArn"`
	StatusFilter    string `json:"statusFilter"`
	MaxResults      int    `json:"maxResults"`
	NextToken       string `json:"nextToken"`
}

type executionItem struct {
	ExecutionArn    string `json:"executionArn"`
	StateMachineArn string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	StartDate       epoch  `json:"startDate"`
	StopDate        *epoch `json:"stopDate,omitempty"`
}

var statuses = []string{"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"}

func (s *Server) listExecutions(in listExecutionsIn) (any, error) {
	size, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	if in.StatusFilter != "" && !slices.Contains(statuses, in.StatusFilter) {
		return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [%s]", in.StatusFilter, strings.Join(statuses, ", "))
	}
	forReq := "ListExecutions " + in.StateMachineArn + " " + in.StatusFilter
	before := 0 // executions with a smaller sequence number: the next page, newest first
	if in.NextToken != "" {
		if before, err = decodeToken(in.NextToken, forReq); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	m, err := s.machine(in.StateMachineArn)
	var execs []*execution
	if err == nil {
		execs = slices.Clone(m.execs)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := struct {
		Executions []executionItem `json:"executions"`
		NextToken  *string         `json:"nextToken,omitempty"`
	}{Executions: []executionItem{}}
	last := 0
	for i := len(execs) - 1; i >= 0; i-- {
		e := execs[i]
		if before > 0 && e.seq >= before {
			continue
		}
		st := string(e.x.Status())
		if in.StatusFilter != "" && st != in.StatusFilter {
			continue
		}
		if len(out.Executions) == size {
			out.NextToken = encodeToken(forReq, last)
			break
		}
		out.Executions = append(out.Executions, executionItem{
			ExecutionArn: e.arn, StateMachineArn: m.ARN, Name: e.name, Status: st,
			StartDate: epoch(e.started), StopDate: ptrEpoch(stopTime(e.x)),
		})
		last = e.seq
	}
	return out, nil
}

func (s *Server) stopExecution(in struct {
	ExecutionArn string `json:"executionArn"`
	Error        string `json:"error"`
	Cause        string `json:"cause"`
}) (any, error) {
	e, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	if e.x.Status() == asl.StatusRunning {
		e.x.Stop(in.Error, in.Cause)
		<-e.x.Done()
	}
	return map[string]any{"stopDate": epoch(stopTime(e.x))}, nil
}

// --- task tokens

// callbackError maps the executor's callback errors to the API's.
func callbackError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, asl.ErrInvalidToken):
		return errorf("InvalidToken", "Invalid Token: 'Invalid token'")
	case errors.Is(err, asl.ErrTaskTimedOut):
		return errorf("TaskTimedOut", "Task Timed Out: 'Provided task has timed out'")
	case errors.Is(err, asl.ErrTaskDoesNotExist):
		return errorf("TaskDoesNotExist", "Task Does Not Exist: 'Provided task does not exist anymore'")
	case errors.Is(err, asl.ErrInvalidOutput):
		return errorf("InvalidOutput", "Invalid Output: 'output is not valid JSON'")
	}
	return err
}

// callback sends one callback to the executor that issued token: tokens are unknown to the
// others (TaskDoesNotExist), so the first other answer is the issuer's.
func (s *Server) callback(token string, send func(*asl.Executor) error) (any, error) {
	if token == "" {
		return nil, errorf("ValidationException", "1 validation error detected: Value null at 'taskToken' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	machines := slices.Clone(s.machines)
	s.mu.Unlock()
	err := asl.ErrTaskDoesNotExist
	for _, m := range machines {
		if err = send(m.Executor); !errors.Is(err, asl.ErrTaskDoesNotExist) {
			break
		}
	}
	if err != nil {
		return nil, callbackError(err)
	}
	return struct{}{}, nil
}

func (s *Server) sendTaskSuccess(in struct {
	TaskToken string  `json:"taskToken"`
	Output    *string `json:"output"`
}) (any, error) {
	if in.Output == nil {
		return nil, errorf("ValidationException", "1 validation error detected: Value null at 'output' failed to satisfy constraint: Member must not be null")
	}
	if !json.Valid([]byte(*in.Output)) {
		return nil, callbackError(asl.ErrInvalidOutput)
	}
	return s.callback(in.TaskToken, func(e *asl.Executor) error { return e.SendTaskSuccess(in.TaskToken, json.RawMessage(*in.Output)) })
}

func (s *Server) sendTaskFailure(in struct {
	TaskToken string `json:"taskToken"`
	Error     string `json:"error"`
	Cause     string `json:"cause"`
}) (any, error) {
	return s.callback(in.TaskToken, func(e *asl.Executor) error { return e.SendTaskFailure(in.TaskToken, in.Error, in.Cause) })
}

func (s *Server) sendTaskHeartbeat(in struct {
	TaskToken string `json:"taskToken"`
}) (any, error) {
	return s.callback(in.TaskToken, func(e *asl.Executor) error { return e.SendTaskHeartbeat(in.TaskToken) })
}

// Package ssm is the local AWS's Systems Manager Parameter Store: GetParameter, GetParameters
// and PutParameter over AWS JSON 1.1 (X-Amz-Target AmazonSSM.<Op>), one store per Region (the
// Region the request is signed for), as Parameter Store is regional. A test fault makes a
// Region unreachable: its requests get no answer until the fault is lifted or the caller gives up.
// Parameters are named by name (a parameter's ARN is not accepted in requests), hold one value
// (no history, labels, tags or policies) and are all Standard tier.
package ssm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/awsjson"
)

// TargetPrefix starts the X-Amz-Target of every Parameter Store request.
const TargetPrefix = "AmazonSSM."

// maxValue is a standard parameter's size limit in characters.
const maxValue = 4096

// Options configure a Store.
type Options struct {
	// AccountID appears in parameter ARNs.
	AccountID string
	// Clock stamps LastModifiedDate; nil means time.Now.
	Clock func() time.Time
}

// Store is Parameter Store in every Region. It is safe for concurrent use.
type Store struct {
	opts Options

	mu      sync.Mutex
	regions map[string]map[string]*parameter
	// down holds, per unreachable Region, a channel closed when it comes back.
	down map[string]chan struct{}
}

type parameter struct {
	name, typ, value string
	version          int64
	modified         time.Time
}

// New returns an empty Store.
func New(opts Options) *Store {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	return &Store{opts: opts, regions: map[string]map[string]*parameter{}, down: map[string]chan struct{}{}}
}

// SetUnreachable is a test fault: while on, region's requests get no answer (the caller's
// timeout ends them), as when the Region or the network to it is down.
func (s *Store) SetUnreachable(region string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, isDown := s.down[region]
	switch {
	case on && !isDown:
		s.down[region] = make(chan struct{})
	case !on && isDown:
		close(ch)
		delete(s.down, region)
	}
}

// Value returns a parameter's value, for tests.
func (s *Store) Value(region, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.regions[region][name]
	if !ok {
		return "", false
	}
	return p.value, true
}

func errValidation(format string, args ...any) *awsjson.Error {
	return awsjson.Errorf("ValidationException", format, args...)
}

// ServeHTTP serves one AWS JSON 1.1 request.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The body is read first: only then does the server notice a caller that gives up.
	req, err := awsjson.Read(r, TargetPrefix)
	var out any
	if err == nil {
		s.mu.Lock()
		ch := s.down[req.Region]
		s.mu.Unlock()
		if ch != nil {
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
		}
		switch req.Op {
		case "GetParameter":
			out, err = s.getParameter(req.Region, req.Body)
		case "GetParameters":
			out, err = s.getParameters(req.Region, req.Body)
		case "PutParameter":
			out, err = s.putParameter(req.Region, req.Body)
		default:
			err = awsjson.Errorf("UnknownOperationException", "%s is not emulated", req.Op)
		}
	}
	awsjson.Write(w, out, err, "InternalServerError")
}

type parameterJSON struct {
	ARN              string
	DataType         string
	LastModifiedDate float64
	Name             string
	Type             string
	Value            string
	Version          int64
}

func (s *Store) toJSON(region string, p *parameter) parameterJSON {
	arn := fmt.Sprintf("arn:aws:ssm:%s:%s:parameter", region, s.opts.AccountID)
	if !strings.HasPrefix(p.name, "/") {
		arn += "/"
	}
	return parameterJSON{
		ARN: arn + p.name, DataType: "text", LastModifiedDate: float64(p.modified.UnixMilli()) / 1000,
		Name: p.name, Type: p.typ, Value: p.value, Version: p.version,
	}
}

func (s *Store) getParameter(region string, body []byte) (any, error) {
	var in struct {
		Name           *string
		WithDecryption bool
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errValidation("request is not valid JSON")
	}
	if in.Name == nil || *in.Name == "" {
		return nil, errValidation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.regions[region][*in.Name]
	if !ok {
		return nil, &awsjson.Error{Code: "ParameterNotFound", Message: ""}
	}
	return map[string]any{"Parameter": s.toJSON(region, p)}, nil
}

func (s *Store) getParameters(region string, body []byte) (any, error) {
	var in struct {
		Names          []string
		WithDecryption bool
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errValidation("request is not valid JSON")
	}
	if len(in.Names) == 0 || len(in.Names) > 10 {
		return nil, errValidation("1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		Parameters        []parameterJSON
		InvalidParameters []string
	}{Parameters: []parameterJSON{}, InvalidParameters: []string{}}
	for _, n := range in.Names {
		if p, ok := s.regions[region][n]; ok {
			out.Parameters = append(out.Parameters, s.toJSON(region, p))
		} else {
			out.InvalidParameters = append(out.InvalidParameters, n)
		}
	}
	return out, nil
}

func (s *Store) putParameter(region string, body []byte) (any, error) {
	var in struct {
		Name, Value, Type *string
		Overwrite         bool
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errValidation("request is not valid JSON")
	}
	switch {
	case in.Name == nil || *in.Name == "":
		return nil, errValidation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	case in.Value == nil || *in.Value == "":
		return nil, errValidation("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case len([]rune(*in.Value)) > maxValue:
		return nil, errValidation("Standard tier parameters support a maximum parameter value of 4096 characters.")
	}
	if t := in.Type; t != nil && *t != "String" && *t != "StringList" && *t != "SecureString" {
		return nil, errValidation("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", *t)
	}
	name := *in.Name
	s.mu.Lock()
	defer s.mu.Unlock()
	params := s.regions[region]
	if params == nil {
		params = map[string]*parameter{}
		s.regions[region] = params
	}
	p, exists := params[name]
	switch {
	case exists && !in.Overwrite:
		return nil, &awsjson.Error{Code: "ParameterAlreadyExists", Message: "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."}
	case !exists && in.Type == nil:
		return nil, errValidation("A parameter type is required when you create a parameter.")
	case !exists:
		p = &parameter{name: name}
		params[name] = p
	}
	if in.Type != nil {
		p.typ = *in.Type
	}
	p.value = *in.Value
	p.version++
	p.modified = s.opts.Clock()
	return map[string]any{"Tier": "Standard", "Version": p.version}, nil
}

// Package secretsmanager is the local AWS's Secrets Manager: CreateSecret, PutSecretValue and
// GetSecretValue over AWS JSON 1.1 (X-Amz-Target secretsmanager.<Op>), one store per Region (the
// Region the request is signed for), as Secrets Manager is regional. A secret is found by its
// name or its full ARN (name, a hyphen and six random characters). Only the AWSCURRENT version is
// kept (no AWSPREVIOUS, labels, rotation, replication, resource policies or deletion), and
// values are not encrypted.
package secretsmanager

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/awsjson"
)

// TargetPrefix starts the X-Amz-Target of every Secrets Manager request.
const TargetPrefix = "secretsmanager."

// maxValue is the largest SecretString or SecretBinary, in bytes.
const maxValue = 65536

// namePattern is a secret name's alphabet and length.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

// Options configure a Store.
type Options struct {
	// AccountID appears in secret ARNs.
	AccountID string
	// Clock stamps CreatedDate; nil means time.Now.
	Clock func() time.Time
}

// Store is Secrets Manager in every Region. It is safe for concurrent use.
type Store struct {
	opts Options

	mu sync.Mutex
	// regions holds each Region's secrets by name.
	regions map[string]map[string]*secret
}

type secret struct {
	name, arn string
	created   time.Time
	// value is the AWSCURRENT version; nil for a secret created without one.
	value *version
}

type version struct {
	id     string
	str    *string
	binary []byte
}

// New returns an empty Store.
func New(opts Options) *Store {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	return &Store{opts: opts, regions: map[string]map[string]*secret{}}
}

func errInvalidParameter(format string, args ...any) *awsjson.Error {
	return awsjson.Errorf("InvalidParameterException", format, args...)
}

var errNotFound = &awsjson.Error{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."}

// ServeHTTP serves one AWS JSON 1.1 request.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := awsjson.Read(r, TargetPrefix)
	var out any
	if err == nil {
		switch req.Op {
		case "CreateSecret":
			out, err = s.createSecret(req.Region, req.Body)
		case "PutSecretValue":
			out, err = s.putSecretValue(req.Region, req.Body)
		case "GetSecretValue":
			out, err = s.getSecretValue(req.Region, req.Body)
		default:
			err = awsjson.Errorf("UnknownOperationException", "%s is not emulated", req.Op)
		}
	}
	awsjson.Write(w, out, err, "InternalServiceError")
}

// valueIn is the value part of CreateSecret and PutSecretValue.
type valueIn struct {
	SecretString *string
	SecretBinary []byte // base64 in the JSON body, as the SDK sends it
}

func (v valueIn) version() (*version, error) {
	switch {
	case v.SecretString != nil && v.SecretBinary != nil:
		return nil, errInvalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.")
	case v.SecretString != nil && len(*v.SecretString) > maxValue, len(v.SecretBinary) > maxValue:
		return nil, errInvalidParameter("The secret value exceeds the maximum size of %d bytes.", maxValue)
	case v.SecretString == nil && v.SecretBinary == nil:
		return nil, nil
	}
	return &version{id: newID(), str: v.SecretString, binary: v.SecretBinary}, nil
}

func (s *Store) createSecret(region string, body []byte) (any, error) {
	var in struct {
		Name *string
		valueIn
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errInvalidParameter("request is not valid JSON")
	}
	if in.Name == nil || !namePattern.MatchString(*in.Name) {
		return nil, errInvalidParameter("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	v, err := in.version()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	secrets := s.regions[region]
	if secrets == nil {
		secrets = map[string]*secret{}
		s.regions[region] = secrets
	}
	if _, ok := secrets[*in.Name]; ok {
		return nil, awsjson.Errorf("ResourceExistsException", "The operation failed because the secret %s already exists.", *in.Name)
	}
	sec := &secret{name: *in.Name, created: s.opts.Clock(), value: v,
		arn: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", region, s.opts.AccountID, *in.Name, suffix())}
	secrets[sec.name] = sec
	out := map[string]any{"ARN": sec.arn, "Name": sec.name}
	if v != nil {
		out["VersionId"] = v.id
	}
	return out, nil
}

func (s *Store) putSecretValue(region string, body []byte) (any, error) {
	var in struct {
		SecretID *string `json:"SecretId"`
		valueIn
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errInvalidParameter("request is not valid JSON")
	}
	v, err := in.version()
	switch {
	case err != nil:
		return nil, err
	case v == nil:
		return nil, errInvalidParameter("You must provide either SecretString or SecretBinary.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(region, in.SecretID)
	if err != nil {
		return nil, err
	}
	sec.value = v
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": []string{"AWSCURRENT"}}, nil
}

func (s *Store) getSecretValue(region string, body []byte) (any, error) {
	var in struct {
		SecretID     *string `json:"SecretId"`
		VersionStage *string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errInvalidParameter("request is not valid JSON")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.find(region, in.SecretID)
	if err != nil {
		return nil, err
	}
	if in.VersionStage != nil && *in.VersionStage != "AWSCURRENT" || sec.value == nil {
		return nil, awsjson.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", stage(in.VersionStage))
	}
	out := map[string]any{
		"ARN": sec.arn, "Name": sec.name, "VersionId": sec.value.id, "VersionStages": []string{"AWSCURRENT"},
		"CreatedDate": float64(sec.created.UnixMilli()) / 1000,
	}
	if sec.value.str != nil {
		out["SecretString"] = *sec.value.str
	} else {
		out["SecretBinary"] = sec.value.binary
	}
	return out, nil
}

func stage(s *string) string {
	if s == nil {
		return "AWSCURRENT"
	}
	return *s
}

// find returns the secret id names in region: its name or its full ARN. Callers hold s.mu.
func (s *Store) find(region string, id *string) (*secret, error) {
	if id == nil || *id == "" {
		return nil, errInvalidParameter("1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null")
	}
	if strings.HasPrefix(*id, "arn:") {
		for _, sec := range s.regions[region] {
			if sec.arn == *id {
				return sec, nil
			}
		}
		return nil, errNotFound
	}
	sec, ok := s.regions[region][*id]
	if !ok {
		return nil, errNotFound
	}
	return sec, nil
}

// suffix is the six random characters Secrets Manager appends to a secret's name in its ARN.
func suffix() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

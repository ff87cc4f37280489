package loopback

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// SNS limits enforced on Publish, as documented for the real service.
const (
	maxSubjectLen = 100
	maxMessageLen = 256 * 1024
)

// snsXMLNS is the namespace real SNS responses carry.
const snsXMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"

// Message is one message published to the emulated SNS.
type Message struct {
	ID         string               `json:"id"`
	TopicArn   string               `json:"topicArn"`
	Subject    string               `json:"subject,omitempty"`
	Message    string               `json:"message"`
	Attributes map[string]Attribute `json:"attributes,omitempty"`
	Time       time.Time            `json:"time"`
}

// Attribute is one SNS message attribute; exactly one of StringValue and
// BinaryValue is set, depending on DataType.
type Attribute struct {
	DataType    string `json:"dataType"`
	StringValue string `json:"stringValue,omitempty"`
	BinaryValue []byte `json:"binaryValue,omitempty"`
}

// Subscription is a recorded SNS subscription. Email subscriptions stay
// pending, since nobody can click the confirmation link locally.
type Subscription struct {
	Arn      string
	TopicArn string
	Protocol string
	Endpoint string
	Pending  bool
}

// SNS is the emulated SNS: topics, subscriptions and the ordered log of
// published messages. It is safe for concurrent use.
type SNS struct {
	account string

	mu       sync.Mutex
	topics   map[string]bool // by ARN
	subs     []Subscription
	messages []Message
	changed  chan struct{} // closed and replaced on every publish
	closed   bool
	done     chan struct{}
	mailbox  *os.File
}

func newSNS(account, mailboxFile string) (*SNS, error) {
	s := &SNS{
		account: account,
		topics:  map[string]bool{},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if mailboxFile != "" {
		f, err := os.OpenFile(mailboxFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open SNS mailbox: %w", err)
		}
		s.mailbox = f
	}
	return s, nil
}

func (s *SNS) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	if s.mailbox != nil {
		return s.mailbox.Close()
	}
	return nil
}

// Messages returns a copy of every published message, oldest first.
func (s *SNS) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Subscriptions returns a copy of every subscription, oldest first.
func (s *SNS) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs)
}

// Follow returns a channel that yields every message, starting with the first
// ever published and then each new one as it arrives, in publish order (like
// tail -f from the top, so nothing published before the call is missed). The
// channel is closed when ctx ends or the stack closes. A slow reader never
// blocks publishers.
func (s *SNS) Follow(ctx context.Context) <-chan Message {
	ch := make(chan Message)
	go func() {
		defer close(ch)
		next := 0
		for {
			s.mu.Lock()
			pending := slices.Clone(s.messages[next:])
			changed := s.changed
			s.mu.Unlock()
			for _, m := range pending {
				select {
				case ch <- m:
					next++
				case <-ctx.Done():
					return
				case <-s.done:
					return
				}
			}
			if len(pending) > 0 {
				continue
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
	}()
	return ch
}

func (s *SNS) topicArn(region, name string) string {
	return "arn:aws:sns:" + region + ":" + s.account + ":" + name
}

// snsError is an awsquery error; Code is what the SDK maps to an exception
// type (NotFound → *types.NotFoundException).
type snsError struct {
	Status  int
	Type    string
	Code    string
	Message string
}

func (e *snsError) Error() string { return e.Code + ": " + e.Message }

func invalidParameter(format string, args ...any) *snsError {
	return &snsError{Status: http.StatusBadRequest, Type: "Sender", Code: "InvalidParameter",
		Message: "Invalid parameter: " + fmt.Sprintf(format, args...)}
}

func topicNotFound() *snsError {
	return &snsError{Status: http.StatusNotFound, Type: "Sender", Code: "NotFound", Message: "Topic does not exist"}
}

// serveHTTP handles one awsquery request.
func (s *SNS) serveHTTP(w http.ResponseWriter, r *http.Request, region string) {
	requestID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", requestID)
	result, err := s.dispatch(r, region)
	if err != nil {
		var e *snsError
		if !errors.As(err, &e) {
			e = &snsError{Status: http.StatusInternalServerError, Type: "Receiver", Code: "InternalError", Message: err.Error()}
		}
		writeXML(w, e.Status, errorResponse{
			Xmlns:     snsXMLNS,
			Error:     errorBody{Type: e.Type, Code: e.Code, Message: e.Message},
			RequestID: requestID,
		})
		return
	}
	action := r.PostForm.Get("Action")
	writeXML(w, http.StatusOK, response{
		XMLName:  xml.Name{Local: action + "Response"},
		Xmlns:    snsXMLNS,
		Result:   resultWrapper{XMLName: xml.Name{Local: action + "Result"}, Inner: result},
		Metadata: responseMetadata{RequestID: requestID},
	})
}

func (s *SNS) dispatch(r *http.Request, region string) (any, error) {
	if r.Method != http.MethodPost {
		return nil, &snsError{Status: http.StatusBadRequest, Type: "Sender", Code: "InvalidAction", Message: "SNS requires POST"}
	}
	if r.Header.Get("Content-Type") == "" {
		// awsquery bodies are always form-encoded; ParseForm insists on the header.
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// Percent-encoding can triple a 256 KB message.
	r.Body = http.MaxBytesReader(nil, r.Body, 4*maxMessageLen)
	if err := r.ParseForm(); err != nil {
		return nil, invalidParameter("form: %v", err)
	}
	f := r.PostForm
	switch action := f.Get("Action"); action {
	case "CreateTopic":
		return s.createTopic(region, f)
	case "DeleteTopic":
		return s.deleteTopic(f)
	case "ListTopics":
		return s.listTopics()
	case "Subscribe":
		return s.subscribe(f)
	case "ListSubscriptionsByTopic":
		return s.listSubscriptionsByTopic(f)
	case "Publish":
		return s.publish(f)
	default:
		return nil, &snsError{Status: http.StatusBadRequest, Type: "Sender", Code: "InvalidAction",
			Message: fmt.Sprintf("the action %q is not implemented by localaws", action)}
	}
}

var topicName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *SNS) createTopic(region string, f url.Values) (any, error) {
	name := f.Get("Name")
	if !topicName.MatchString(strings.TrimSuffix(name, ".fifo")) {
		return nil, invalidParameter("Topic Name")
	}
	arn := s.topicArn(region, name)
	s.mu.Lock()
	s.topics[arn] = true // CreateTopic is idempotent in SNS
	s.mu.Unlock()
	return struct {
		TopicArn string `xml:"TopicArn"`
	}{arn}, nil
}

func (s *SNS) deleteTopic(f url.Values) (any, error) {
	arn := f.Get("TopicArn")
	s.mu.Lock()
	defer s.mu.Unlock()
	// Deleting a missing topic succeeds, as in SNS.
	delete(s.topics, arn)
	s.subs = slices.DeleteFunc(s.subs, func(sub Subscription) bool { return sub.TopicArn == arn })
	return nil, nil
}

type topicMember struct {
	TopicArn string `xml:"TopicArn"`
}

func (s *SNS) listTopics() (any, error) {
	s.mu.Lock()
	arns := make([]string, 0, len(s.topics))
	for arn := range s.topics {
		arns = append(arns, arn)
	}
	s.mu.Unlock()
	slices.Sort(arns)
	members := make([]topicMember, len(arns))
	for i, arn := range arns {
		members[i] = topicMember{arn}
	}
	// One page: a local stack never has enough topics to need NextToken.
	return struct {
		Topics []topicMember `xml:"Topics>member"`
	}{members}, nil
}

// confirmedProtocols are those SNS subscribes without a confirmation round trip.
var confirmedProtocols = map[string]bool{"sqs": true, "lambda": true, "firehose": true, "application": true, "sms": true}

var pendingProtocols = map[string]bool{"email": true, "email-json": true, "http": true, "https": true}

func (s *SNS) subscribe(f url.Values) (any, error) {
	topic, protocol, endpoint := f.Get("TopicArn"), f.Get("Protocol"), f.Get("Endpoint")
	if !confirmedProtocols[protocol] && !pendingProtocols[protocol] {
		return nil, invalidParameter("Amazon SNS does not support this protocol string: %s", protocol)
	}
	if endpoint == "" || (strings.HasPrefix(protocol, "email") && !strings.Contains(endpoint, "@")) {
		return nil, invalidParameter("Endpoint")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.topics[topic] {
		return nil, topicNotFound()
	}
	i := slices.IndexFunc(s.subs, func(sub Subscription) bool {
		return sub.TopicArn == topic && sub.Protocol == protocol && sub.Endpoint == endpoint
	})
	if i < 0 {
		s.subs = append(s.subs, Subscription{
			Arn:      topic + ":" + uuid.NewString(),
			TopicArn: topic,
			Protocol: protocol,
			Endpoint: endpoint,
			Pending:  pendingProtocols[protocol],
		})
		i = len(s.subs) - 1
	}
	sub := s.subs[i]
	arn := sub.Arn
	if sub.Pending && f.Get("ReturnSubscriptionArn") != "true" {
		arn = "pending confirmation"
	}
	return struct {
		SubscriptionArn string `xml:"SubscriptionArn"`
	}{arn}, nil
}

type subscriptionMember struct {
	Endpoint        string `xml:"Endpoint"`
	Owner           string `xml:"Owner"`
	Protocol        string `xml:"Protocol"`
	SubscriptionArn string `xml:"SubscriptionArn"`
	TopicArn        string `xml:"TopicArn"`
}

func (s *SNS) listSubscriptionsByTopic(f url.Values) (any, error) {
	topic := f.Get("TopicArn")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.topics[topic] {
		return nil, topicNotFound()
	}
	var members []subscriptionMember
	for _, sub := range s.subs {
		if sub.TopicArn != topic {
			continue
		}
		arn := sub.Arn
		if sub.Pending {
			arn = "PendingConfirmation" // what SNS lists until the link is clicked
		}
		members = append(members, subscriptionMember{sub.Endpoint, s.account, sub.Protocol, arn, sub.TopicArn})
	}
	return struct {
		Subscriptions []subscriptionMember `xml:"Subscriptions>member"`
	}{members}, nil
}

func (s *SNS) publish(f url.Values) (any, error) {
	topic := f.Get("TopicArn")
	if topic == "" {
		topic = f.Get("TargetArn")
	}
	if topic == "" {
		return nil, invalidParameter("TopicArn or TargetArn Reason: no value for required parameter")
	}
	m := Message{
		ID:       uuid.NewString(),
		TopicArn: topic,
		Subject:  f.Get("Subject"),
		Message:  f.Get("Message"),
		Time:     time.Now().UTC(),
	}
	if m.Message == "" {
		return nil, invalidParameter("Empty message")
	}
	if _, ok := f["Subject"]; ok && !validSubject(m.Subject) {
		return nil, invalidParameter("Subject")
	}
	attrs, err := messageAttributes(f)
	if err != nil {
		return nil, err
	}
	m.Attributes = attrs
	size := len(m.Message)
	for name, a := range attrs {
		size += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	if size > maxMessageLen {
		return nil, invalidParameter("Message too long")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.topics[topic] {
		return nil, topicNotFound()
	}
	if s.mailbox != nil {
		line, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode message %s: %w", m.ID, err)
		}
		if _, err := s.mailbox.Write(append(line, '\n')); err != nil {
			return nil, fmt.Errorf("append message %s to mailbox: %w", m.ID, err)
		}
	}
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
	return struct {
		MessageID string `xml:"MessageId"`
	}{m.ID}, nil
}

// validSubject applies the documented Publish rule: UTF-8 text of at most
// 100 characters without line breaks or control characters. Subjects built
// from user data trip over this in production, so catch it locally.
func validSubject(v string) bool {
	if v == "" || !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxSubjectLen {
		return false
	}
	return !strings.ContainsFunc(v, unicode.IsControl)
}

// messageAttributes parses MessageAttributes.entry.N.{Name,Value.DataType,
// Value.StringValue,Value.BinaryValue}.
func messageAttributes(f url.Values) (map[string]Attribute, error) {
	var attrs map[string]Attribute
	for n := 1; ; n++ {
		p := "MessageAttributes.entry." + strconv.Itoa(n) + "."
		name, ok := f[p+"Name"]
		if !ok {
			return attrs, nil
		}
		a := Attribute{DataType: f.Get(p + "Value.DataType"), StringValue: f.Get(p + "Value.StringValue")}
		if b := f.Get(p + "Value.BinaryValue"); b != "" {
			v, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, invalidParameter("MessageAttributes: binary value of %s is not base64", name[0])
			}
			a.BinaryValue = v
		}
		switch base, _, _ := strings.Cut(a.DataType, "."); base {
		case "String", "Number", "String.Array":
			if a.StringValue == "" {
				return nil, invalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name[0], a.DataType)
			}
		case "Binary":
			if a.BinaryValue == nil {
				return nil, invalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name[0], a.DataType)
			}
		default:
			return nil, invalidParameter("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name[0])
		}
		if attrs == nil {
			attrs = map[string]Attribute{}
		}
		attrs[name[0]] = a
	}
}

type response struct {
	XMLName  xml.Name
	Xmlns    string           `xml:"xmlns,attr"`
	Result   resultWrapper    `xml:"-"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

// MarshalXML writes <XResponse><XResult>…</XResult><ResponseMetadata/></XResponse>;
// a nil result gives an empty XResult element, as for DeleteTopic.
func (r response) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start = xml.StartElement{Name: r.XMLName, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: r.Xmlns}}}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	resStart := xml.StartElement{Name: r.Result.XMLName}
	if r.Result.Inner == nil {
		if err := e.EncodeToken(resStart); err != nil {
			return err
		}
		if err := e.EncodeToken(resStart.End()); err != nil {
			return err
		}
	} else if err := e.EncodeElement(r.Result.Inner, resStart); err != nil {
		return err
	}
	if err := e.EncodeElement(r.Metadata, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

type resultWrapper struct {
	XMLName xml.Name
	Inner   any
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type errorResponse struct {
	XMLName   xml.Name  `xml:"ErrorResponse"`
	Xmlns     string    `xml:"xmlns,attr"`
	Error     errorBody `xml:"Error"`
	RequestID string    `xml:"RequestId"`
}

type errorBody struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

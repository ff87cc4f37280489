package logs

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// TargetPrefix starts the X-Amz-Target of every CloudWatch Logs request.
const TargetPrefix = "Logs_20140328."

const contentType = "application/x-amz-json-1.1"

// maxResponseBytes is GetLogEvents' and FilterLogEvents' 1 MB page size; each event counts its
// message plus 26 bytes, as PutLogEvents sizes do.
const maxResponseBytes = 1 << 20

var groupNamePattern = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

type apiError struct {
	Code, Message string
	Status        int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func errInvalidParameter(format string, args ...any) *apiError {
	return newError("InvalidParameterException", format, args...)
}

func errGroupNotFound() *apiError {
	return newError("ResourceNotFoundException", "The specified log group does not exist.")
}

func errStreamNotFound() *apiError {
	return newError("ResourceNotFoundException", "The specified log stream does not exist.")
}

type handler func(s *Store, region string, body []byte) (any, error)

var handlers = map[string]handler{
	"CreateLogGroup":     (*Store).createLogGroup,
	"CreateLogStream":    (*Store).createLogStream,
	"PutLogEvents":       (*Store).putLogEvents,
	"DescribeLogGroups":  (*Store).describeLogGroups,
	"DescribeLogStreams": (*Store).describeLogStreams,
	"GetLogEvents":       (*Store).getLogEvents,
	"FilterLogEvents":    (*Store).filterLogEvents,
}

// ServeHTTP answers one CloudWatch Logs request.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := s.serve(r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{Code: "ServiceUnavailableException", Message: err.Error(), Status: http.StatusInternalServerError}
		}
		b, _ := json.Marshal(map[string]string{"__type": ae.Code, "message": ae.Message})
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("x-amzn-ErrorType", ae.Code)
		w.WriteHeader(ae.Status)
		_, _ = w.Write(b)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("x-amzn-RequestId", "local")
	_, _ = w.Write(b)
}

func (s *Store) serve(r *http.Request) (any, error) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	h := handlers[op]
	if r.Method != http.MethodPost || !ok || h == nil {
		return nil, newError("UnknownOperationException", "")
	}
	region, ok := signedRegion(r.Header.Get("Authorization"))
	if !ok {
		return nil, newError("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		return nil, newError("SerializationException", "could not read request body")
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	return h(s, region, body)
}

// signedRegion reads the Region of the SigV4 credential scope; the signature is not checked.
func signedRegion(auth string) (string, bool) {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", false
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[2] == "" {
		return "", false
	}
	return parts[2], true
}

func decode(body []byte, in any) error {
	if err := json.Unmarshal(body, in); err != nil {
		return newError("SerializationException", "Start of structure or map found where not expected.")
	}
	return nil
}

func checkLimit(limit *int32, max int32) (int, error) {
	if limit == nil {
		return int(max), nil
	}
	if *limit < 1 || *limit > max {
		return 0, errInvalidParameter("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", *limit, max)
	}
	return int(*limit), nil
}

func (s *Store) createLogGroup(region string, body []byte) (any, error) {
	var in struct{ LogGroupName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !groupNamePattern.MatchString(in.LogGroupName) {
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", in.LogGroupName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(region, in.LogGroupName)
	if s.groups[k] != nil {
		return nil, newError("ResourceAlreadyExistsException", "The specified log group already exists")
	}
	s.groups[k] = &group{name: in.LogGroupName, region: region, created: s.clock().UnixMilli(), streams: map[string]*stream{}}
	return struct{}{}, nil
}

func (s *Store) createLogStream(region string, body []byte) (any, error) {
	var in struct{ LogGroupName, LogStreamName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.LogStreamName == "" || len(in.LogStreamName) > 512 || strings.ContainsAny(in.LogStreamName, ":*") {
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", in.LogStreamName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(region, in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if g.streams[in.LogStreamName] != nil {
		return nil, newError("ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	g.streams[in.LogStreamName] = &stream{name: in.LogStreamName, created: s.clock().UnixMilli()}
	return struct{}{}, nil
}

func (s *Store) putLogEvents(region string, body []byte) (any, error) {
	var in struct {
		LogGroupName, LogStreamName string
		LogEvents                   []struct {
			Timestamp *int64
			Message   *string
		}
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	switch n := len(in.LogEvents); {
	case n == 0:
		return nil, errInvalidParameter("1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case n > 10000:
		return nil, errInvalidParameter("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to 10000")
	}
	for i, ev := range in.LogEvents {
		if ev.Timestamp == nil || ev.Message == nil {
			return nil, errInvalidParameter("1 validation error detected: Value null at 'logEvents.%d.member' failed to satisfy constraint: Member must not be null", i+1)
		}
		if i > 0 && *ev.Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, errInvalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(region, in.LogGroupName)
	if err != nil {
		return nil, err
	}
	st := g.streams[in.LogStreamName]
	if st == nil {
		return nil, errStreamNotFound()
	}
	now := s.clock().UnixMilli()
	for _, ev := range in.LogEvents {
		st.add(Event{Timestamp: *ev.Timestamp, IngestionTime: now, Message: *ev.Message})
	}
	return map[string]any{"nextSequenceToken": strconv.Itoa(len(st.events))}, nil
}

func (s *Store) describeLogGroups(region string, body []byte) (any, error) {
	var in struct {
		LogGroupNamePrefix string
		NextToken          string
		Limit              *int32
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var gs []*group
	for _, g := range s.groups {
		if g.region == region && strings.HasPrefix(g.name, in.LogGroupNamePrefix) && g.name > in.NextToken {
			gs = append(gs, g)
		}
	}
	slices.SortFunc(gs, func(a, b *group) int { return strings.Compare(a.name, b.name) })
	type groupJSON struct {
		LogGroupName      string `json:"logGroupName"`
		CreationTime      int64  `json:"creationTime"`
		MetricFilterCount int    `json:"metricFilterCount"`
		Arn               string `json:"arn"`
		LogGroupArn       string `json:"logGroupArn"`
		StoredBytes       int64  `json:"storedBytes"`
		LogGroupClass     string `json:"logGroupClass"`
	}
	out := struct {
		LogGroups []groupJSON `json:"logGroups"`
		NextToken string      `json:"nextToken,omitempty"`
	}{LogGroups: []groupJSON{}}
	for i, g := range gs {
		if i == limit {
			out.NextToken = gs[i-1].name
			break
		}
		var stored int64
		for _, st := range g.streams {
			stored += st.bytes
		}
		arn := s.groupARN(g)
		out.LogGroups = append(out.LogGroups, groupJSON{LogGroupName: g.name, CreationTime: g.created, Arn: arn + ":*", LogGroupArn: arn, StoredBytes: stored, LogGroupClass: "STANDARD"})
	}
	return out, nil
}

func (s *Store) describeLogStreams(region string, body []byte) (any, error) {
	var in struct {
		LogGroupName, LogGroupIdentifier string
		LogStreamNamePrefix              string
		OrderBy                          string
		Descending                       bool
		NextToken                        string
		Limit                            *int32
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, errInvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]", in.OrderBy)
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, errInvalidParameter("The specified nextToken is invalid.")
		}
		start = n
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, err := s.group(region, name)
	if err != nil {
		return nil, err
	}
	var sts []*stream
	for _, st := range g.streams {
		if strings.HasPrefix(st.name, in.LogStreamNamePrefix) {
			sts = append(sts, st)
		}
	}
	slices.SortFunc(sts, func(a, b *stream) int {
		if in.OrderBy == "LastEventTime" {
			if c := compareInt(a.lastEvent(), b.lastEvent()); c != 0 {
				return c
			}
		}
		return strings.Compare(a.name, b.name)
	})
	if in.Descending {
		slices.Reverse(sts)
	}
	type streamJSON struct {
		LogStreamName       string `json:"logStreamName"`
		CreationTime        int64  `json:"creationTime"`
		FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
		LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
		LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
		Arn                 string `json:"arn"`
		StoredBytes         int64  `json:"storedBytes"`
	}
	out := struct {
		LogStreams []streamJSON `json:"logStreams"`
		NextToken  string       `json:"nextToken,omitempty"`
	}{LogStreams: []streamJSON{}}
	end := min(start+limit, len(sts))
	for _, st := range sts[min(start, end):end] {
		j := streamJSON{LogStreamName: st.name, CreationTime: st.created, Arn: s.groupARN(g) + ":log-stream:" + st.name, StoredBytes: st.bytes}
		if n := len(st.events); n > 0 {
			first, last, ingest := st.events[0].Timestamp, st.events[n-1].Timestamp, st.lastIngestion
			j.FirstEventTimestamp, j.LastEventTimestamp, j.LastIngestionTime = &first, &last, &ingest
		}
		out.LogStreams = append(out.LogStreams, j)
	}
	if end < len(sts) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}

func (st *stream) lastEvent() int64 {
	if len(st.events) == 0 {
		return 0
	}
	return st.events[len(st.events)-1].Timestamp
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type eventJSON struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

func inRange(ts int64, start, end *int64) bool {
	return (start == nil || ts >= *start) && (end == nil || ts < *end)
}

// GetLogEvents tokens are positions in the stream: "f/<n>" reads forward from event n,
// "b/<n>" backward from before event n. They have AWS's shape (a direction and 56 digits).
func posToken(dir byte, n int) string { return fmt.Sprintf("%c/%056d", dir, n) }

func parsePosToken(t string, max int) (byte, int, bool) {
	if len(t) < 3 || (t[0] != 'f' && t[0] != 'b') || t[1] != '/' {
		return 0, 0, false
	}
	n, err := strconv.Atoi(t[2:])
	if err != nil || n < 0 || n > max {
		return 0, 0, false
	}
	return t[0], n, true
}

func (s *Store) getLogEvents(region string, body []byte) (any, error) {
	var in struct {
		LogGroupName, LogGroupIdentifier string
		LogStreamName                    string
		StartTime, EndTime               *int64
		NextToken                        *string
		Limit                            *int32
		StartFromHead                    *bool
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit, 10000)
	if err != nil {
		return nil, err
	}
	if in.NextToken == nil {
		s.read(region, name, in.LogStreamName)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, err := s.group(region, name)
	if err != nil {
		return nil, err
	}
	st := g.streams[in.LogStreamName]
	if st == nil {
		return nil, errStreamNotFound()
	}
	evs := st.events
	var dir byte = 'b'
	pos := len(evs)
	if in.StartFromHead != nil && *in.StartFromHead {
		dir, pos = 'f', 0
	}
	given := ""
	if in.NextToken != nil {
		var ok bool
		given = *in.NextToken
		if dir, pos, ok = parsePosToken(given, len(evs)); !ok {
			return nil, errInvalidParameter("The specified nextToken is invalid.")
		}
	}
	var picked []int
	size := 0
	take := func(i int) bool {
		if !inRange(evs[i].Timestamp, in.StartTime, in.EndTime) {
			return true
		}
		size += len(evs[i].Message) + 26
		if len(picked) == limit || (len(picked) > 0 && size > maxResponseBytes) {
			return false
		}
		picked = append(picked, i)
		return true
	}
	if dir == 'f' {
		for i := pos; i < len(evs) && take(i); i++ {
		}
	} else {
		for i := pos - 1; i >= 0 && take(i); i-- {
		}
		slices.Reverse(picked)
	}
	out := struct {
		Events            []eventJSON `json:"events"`
		NextForwardToken  string      `json:"nextForwardToken"`
		NextBackwardToken string      `json:"nextBackwardToken"`
	}{Events: make([]eventJSON, 0, len(picked))}
	for _, i := range picked {
		out.Events = append(out.Events, eventJSON{evs[i].Timestamp, evs[i].Message, evs[i].IngestionTime})
	}
	if len(picked) == 0 {
		// AWS's end condition: with nothing more to read, the token passed in comes back.
		out.NextForwardToken, out.NextBackwardToken = posToken('f', pos), posToken('b', pos)
		if given != "" {
			if dir == 'f' {
				out.NextForwardToken = given
			} else {
				out.NextBackwardToken = given
			}
		}
		return out, nil
	}
	out.NextForwardToken = posToken('f', picked[len(picked)-1]+1)
	out.NextBackwardToken = posToken('b', picked[0])
	return out, nil
}

// pattern is a FilterLogEvents term pattern: every plain term must occur, no -term may occur,
// and at least one ?term must occur if there are any. Terms are case-sensitive substrings;
// "quoted terms" may hold spaces. JSON ({...}) and space-delimited ([...]) patterns are refused
// rather than matched wrongly.
type pattern struct{ all, none, any []string }

func parsePattern(s string) (pattern, error) {
	var p pattern
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") || strings.HasPrefix(s, "%") {
		return p, errInvalidParameter("Invalid filter pattern: the local emulator supports term patterns only.")
	}
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ") {
		kind := byte(0)
		if s[0] == '?' || s[0] == '-' {
			kind, s = s[0], s[1:]
		}
		var term string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return p, errInvalidParameter("Invalid filter pattern: unterminated quote.")
			}
			term, s = b.String(), s[i+1:]
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			term, s = s[:end], s[end:]
		}
		if term == "" {
			continue
		}
		switch kind {
		case '?':
			p.any = append(p.any, term)
		case '-':
			p.none = append(p.none, term)
		default:
			p.all = append(p.all, term)
		}
	}
	return p, nil
}

func (p pattern) match(msg string) bool {
	for _, t := range p.all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range p.none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}

// filterCursor orders events across streams (timestamp, stream, index); a FilterLogEvents
// token is the cursor of the last event returned, so events added meanwhile are not skipped.
type filterCursor struct {
	ts     int64
	stream string
	idx    int
}

func (a filterCursor) compare(b filterCursor) int {
	if c := compareInt(a.ts, b.ts); c != 0 {
		return c
	}
	if c := strings.Compare(a.stream, b.stream); c != 0 {
		return c
	}
	return compareInt(int64(a.idx), int64(b.idx))
}

func (c filterCursor) token() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ts, 10) + "\x00" + c.stream + "\x00" + strconv.Itoa(c.idx)))
}

func parseFilterToken(t string) (filterCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return filterCursor{}, false
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 {
		return filterCursor{}, false
	}
	ts, err1 := strconv.ParseInt(parts[0], 10, 64)
	idx, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return filterCursor{}, false
	}
	return filterCursor{ts, parts[1], idx}, true
}

func eventID(c filterCursor) string {
	h := fnv.New32a()
	io.WriteString(h, c.stream)
	return fmt.Sprintf("%020d%010d%026d", c.ts, h.Sum32(), c.idx)
}

func (s *Store) filterLogEvents(region string, body []byte) (any, error) {
	var in struct {
		LogGroupName, LogGroupIdentifier string
		LogStreamNames                   []string
		LogStreamNamePrefix              string
		StartTime, EndTime               *int64
		FilterPattern                    string
		NextToken                        string
		Limit                            *int32
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, errInvalidParameter("You cannot specify both LogStreamNames and LogStreamNamePrefix.")
	}
	limit, err := checkLimit(in.Limit, 10000)
	if err != nil {
		return nil, err
	}
	pat, err := parsePattern(in.FilterPattern)
	if err != nil {
		return nil, err
	}
	var after *filterCursor
	if in.NextToken != "" {
		c, ok := parseFilterToken(in.NextToken)
		if !ok {
			return nil, errInvalidParameter("The specified nextToken is invalid.")
		}
		after = &c
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, err := s.group(region, name)
	if err != nil {
		return nil, err
	}
	type hit struct {
		c  filterCursor
		ev Event
	}
	var hits []hit
	for _, st := range g.streams {
		if len(in.LogStreamNames) > 0 && !slices.Contains(in.LogStreamNames, st.name) {
			continue
		}
		if !strings.HasPrefix(st.name, in.LogStreamNamePrefix) {
			continue
		}
		for i, ev := range st.events {
			c := filterCursor{ev.Timestamp, st.name, i}
			if after != nil && c.compare(*after) <= 0 {
				continue
			}
			if inRange(ev.Timestamp, in.StartTime, in.EndTime) && pat.match(ev.Message) {
				hits = append(hits, hit{c, ev})
			}
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return a.c.compare(b.c) })
	type filteredJSON struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
		EventId       string `json:"eventId"`
	}
	out := struct {
		Events    []filteredJSON `json:"events"`
		NextToken string         `json:"nextToken,omitempty"`
	}{Events: []filteredJSON{}}
	size := 0
	for i, h := range hits {
		size += len(h.ev.Message) + 26
		if i == limit || (i > 0 && size > maxResponseBytes) {
			out.NextToken = hits[i-1].c.token()
			break
		}
		out.Events = append(out.Events, filteredJSON{h.c.stream, h.ev.Timestamp, h.ev.Message, h.ev.IngestionTime, eventID(h.c)})
	}
	return out, nil
}

package logs

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/loopback"
)

const region = "ap-northeast-3"

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func newClient(t *testing.T, s *Store, region string) *cloudwatchlogs.Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "secret"}, nil
		}),
		Retryer:    aws.NopRetryer{},
		HTTPClient: loopback.HTTPClient(),
	})
}

func newStore() *Store {
	return New(Options{Clock: func() time.Time { return t0 }})
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	if err != nil {
		return "not an API error: " + err.Error()
	}
	return ""
}

// seed writes n events "event 0".."event n-1" a second apart into group/stream.
func seed(s *Store, group, stream string, n int) {
	for i := range n {
		s.PutLogEvent(region, group, stream, t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("event %d", i))
	}
}

func messages(evs []types.OutputLogEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

func TestGroupsStreamsAndPut(t *testing.T) {
	ctx := t.Context()
	c := newClient(t, newStore(), region)
	g, st := aws.String("/app/one"), aws.String("s1")

	steps := []struct {
		name string
		call func() error
		want string
	}{
		{"create group", func() error {
			_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: g})
			return err
		}, ""},
		{"create group again", func() error {
			_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: g})
			return err
		},
			"ResourceAlreadyExistsException: The specified log group already exists"},
		{"stream in a missing group", func() error {
			_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/nope"), LogStreamName: st})
			return err
		}, "ResourceNotFoundException: The specified log group does not exist."},
		{"put to a missing stream", func() error {
			_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: st,
				LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(1), Message: aws.String("x")}}})
			return err
		}, "ResourceNotFoundException: The specified log stream does not exist."},
		{"create stream", func() error {
			_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: g, LogStreamName: st})
			return err
		}, ""},
		{"put out of order", func() error {
			_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: st,
				LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(2), Message: aws.String("b")}, {Timestamp: aws.Int64(1), Message: aws.String("a")}}})
			return err
		}, "InvalidParameterException: Log events in a single PutLogEvents request must be in chronological order."},
		{"put", func() error {
			_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: st,
				LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(1000), Message: aws.String("hello")}, {Timestamp: aws.Int64(2000), Message: aws.String("world")}}})
			return err
		}, ""},
	}
	for _, s := range steps {
		if got := errCode(s.call()); got != s.want {
			t.Errorf("%s: error %q, want %q", s.name, got, s.want)
		}
	}

	streams, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g})
	if err != nil {
		t.Fatalf("DescribeLogStreams: %v", err)
	}
	if len(streams.LogStreams) != 1 || aws.ToInt64(streams.LogStreams[0].FirstEventTimestamp) != 1000 || aws.ToInt64(streams.LogStreams[0].LastEventTimestamp) != 2000 {
		t.Errorf("DescribeLogStreams = %+v, want s1 with events 1000..2000", streams.LogStreams)
	}
	out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: st, StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetLogEvents: %v", err)
	}
	if diff := cmp.Diff([]string{"hello", "world"}, messages(out.Events)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestGetLogEventsPaging(t *testing.T) {
	ctx := t.Context()
	s := newStore()
	seed(s, "/g", "s", 5)
	c := newClient(t, s, region)
	in := func(token *string, head bool) *cloudwatchlogs.GetLogEventsInput {
		return &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String("s"), Limit: aws.Int32(2), StartFromHead: aws.Bool(head), NextToken: token}
	}

	t.Run("forward to the end", func(t *testing.T) {
		var got [][]string
		var token *string
		for range 10 {
			out, err := c.GetLogEvents(ctx, in(token, true))
			if err != nil {
				t.Fatalf("GetLogEvents: %v", err)
			}
			got = append(got, messages(out.Events))
			if token != nil && aws.ToString(out.NextForwardToken) == aws.ToString(token) {
				break // AWS's end of stream: the same token comes back
			}
			token = out.NextForwardToken
		}
		want := [][]string{{"event 0", "event 1"}, {"event 2", "event 3"}, {"event 4"}, {}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pages (-want +got):\n%s", diff)
		}
		// New events appear behind the final token.
		s.PutLogEvent(region, "/g", "s", t0.Add(time.Hour), "late")
		out, err := c.GetLogEvents(ctx, in(token, true))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"late"}, messages(out.Events)); diff != "" {
			t.Errorf("after a new event (-want +got):\n%s", diff)
		}
	})

	t.Run("paginator stops on duplicate token", func(t *testing.T) {
		p := cloudwatchlogs.NewGetLogEventsPaginator(c, in(nil, true), func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
		var got []string
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, messages(out.Events)...)
		}
		if len(got) != 6 || got[5] != "late" {
			t.Errorf("paginator read %q, want all 6 events", got)
		}
	})

	t.Run("backward from the tail", func(t *testing.T) {
		out, err := c.GetLogEvents(ctx, in(nil, false))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"event 4", "late"}, messages(out.Events)); diff != "" {
			t.Errorf("latest events (-want +got):\n%s", diff)
		}
		back, err := c.GetLogEvents(ctx, in(out.NextBackwardToken, false))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"event 2", "event 3"}, messages(back.Events)); diff != "" {
			t.Errorf("previous page (-want +got):\n%s", diff)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			in   *cloudwatchlogs.GetLogEventsInput
			want string
		}{
			{"missing group", &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/none"), LogStreamName: aws.String("s")}, "ResourceNotFoundException: The specified log group does not exist."},
			{"missing stream", &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String("none")}, "ResourceNotFoundException: The specified log stream does not exist."},
			{"bad token", in(aws.String("x/1"), true), "InvalidParameterException: The specified nextToken is invalid."},
			{"limit too big", &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String("s"), Limit: aws.Int32(10001)},
				"InvalidParameterException: 1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000"},
		}
		for _, tt := range tests {
			_, err := c.GetLogEvents(ctx, tt.in)
			if got := errCode(err); got != tt.want {
				t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
			}
		}
	})
}

func TestFilterLogEvents(t *testing.T) {
	ctx := t.Context()
	s := newStore()
	lines := []string{
		"[SUCCEEDED] Line Number 2 - The import succeeded.",
		"[FAILED] Line Number 3 - The User Record does not set any of the auto verified attributes to true.",
		"[SKIPPED] Line Number 4 - The user already exists.",
		"[FAILED] Line Number 5 - Username should be an email.",
	}
	for i, l := range lines {
		s.PutLogEvent(region, "/g", "job/a", t0.Add(time.Duration(i)*time.Second), l)
	}
	s.PutLogEvent(region, "/g", "job/b", t0, "[FAILED] Line Number 2 - other job")
	c := newClient(t, s, region)

	filter := func(pattern string, streams []string, limit int32) [][]string {
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/g"), FilterPattern: aws.String(pattern), LogStreamNames: streams}
		if limit > 0 {
			in.Limit = aws.Int32(limit)
		}
		var pages [][]string
		for {
			out, err := c.FilterLogEvents(ctx, in)
			if err != nil {
				t.Fatalf("FilterLogEvents %q: %v", pattern, err)
			}
			var page []string
			for _, e := range out.Events {
				page = append(page, aws.ToString(e.LogStreamName)+" "+aws.ToString(e.Message))
			}
			pages = append(pages, page)
			if out.NextToken == nil {
				return pages
			}
			in.NextToken = out.NextToken
		}
	}
	tests := []struct {
		name    string
		pattern string
		streams []string
		limit   int32
		want    [][]string
	}{
		{"quoted term in one stream", `"[FAILED]"`, []string{"job/a"}, 0, [][]string{{"job/a " + lines[1], "job/a " + lines[3]}}},
		{"plain terms across streams, paged", `FAILED Line`, nil, 2, [][]string{
			{"job/b [FAILED] Line Number 2 - other job", "job/a " + lines[1]}, // t0 sorts before t0+1s
			{"job/a " + lines[3]},
		}},
		{"or terms", `?SKIPPED ?SUCCEEDED`, nil, 0, [][]string{{"job/a " + lines[0], "job/a " + lines[2]}}},
		{"exclusion", `FAILED -other`, nil, 0, [][]string{{"job/a " + lines[1], "job/a " + lines[3]}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, filter(tt.pattern, tt.streams, tt.limit)); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})
	}
	_, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/none")})
	if got := errCode(err); got != "ResourceNotFoundException: The specified log group does not exist." {
		t.Errorf("missing group: %q", got)
	}
}

func TestDescribeLogGroupsPagingAndRegions(t *testing.T) {
	ctx := t.Context()
	s := newStore()
	for _, g := range []string{"/aws/cognito/userpools/a", "/aws/cognito/userpools/b", "/aws/cognito/userpools/c", "/other"} {
		s.PutLogEvent(region, g, "s", t0, "x")
	}
	s.PutLogEvent("us-east-1", "/aws/cognito/userpools/elsewhere", "s", t0, "x")
	c := newClient(t, s, region)
	var got []string
	in := &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/cognito/"), Limit: aws.Int32(2)}
	for {
		out, err := c.DescribeLogGroups(ctx, in)
		if err != nil {
			t.Fatalf("DescribeLogGroups: %v", err)
		}
		for _, g := range out.LogGroups {
			got = append(got, aws.ToString(g.LogGroupName))
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if diff := cmp.Diff([]string{"/aws/cognito/userpools/a", "/aws/cognito/userpools/b", "/aws/cognito/userpools/c"}, got); diff != "" {
		t.Errorf("groups in %s (-want +got):\n%s", region, diff)
	}
}

// An event written under a delivery lag shows only after that many fresh reads of its stream;
// pages of one read (NextToken) do not count.
func TestDeliveryLagHoldsEventsBackForReads(t *testing.T) {
	s := newStore()
	c := newClient(t, s, region)
	ctx := context.Background()
	seed(s, "g", "st", 1)
	s.SetDeliveryLag(2)
	s.PutLogEvent(region, "g", "st", t0.Add(time.Minute), "late")
	read := func() []string {
		out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("st"), StartFromHead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return messages(out.Events)
	}
	for i, want := range [][]string{{"event 0"}, {"event 0", "late"}, {"event 0", "late"}} {
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("read %d (-want +got):\n%s", i+1, diff)
		}
	}
	if got := s.Messages(region, "g", "st"); len(got) != 2 {
		t.Errorf("Messages after delivery = %q", got)
	}
}

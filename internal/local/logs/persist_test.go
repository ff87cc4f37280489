package logs

import (
	"bytes"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestSaveLoad: a store loaded from another's Save lists the same groups and streams and reads
// the same events; events still held back by SetDeliveryLag are saved as delivered.
func TestSaveLoad(t *testing.T) {
	ctx := t.Context()
	src := New(Options{Clock: func() time.Time { return t0 }})
	src.PutLogEvent(region, "/aws/cognito/userpools/import", "job-1", t0, "[SUCCEEDED] Line Number 1")
	src.PutLogEvent(region, "/aws/cognito/userpools/import", "job-1", t0.Add(time.Second), "[FAILED] Line Number 2")
	src.PutLogEvent("ap-northeast-1", "other", "s", t0, "elsewhere")
	src.SetDeliveryLag(5)
	src.PutLogEvent(region, "/aws/cognito/userpools/import", "job-2", t0, "[SKIPPED] Line Number 1")
	var saved bytes.Buffer
	if err := src.Save(&saved); err != nil {
		t.Fatal(err)
	}
	dst := New(Options{Clock: func() time.Time { return t0.Add(time.Hour) }})
	if err := dst.Load(&saved); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, dst, region)
	streams, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/cognito/userpools/import")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range streams.LogStreams {
		names = append(names, aws.ToString(s.LogStreamName))
	}
	if diff := cmp.Diff([]string{"job-1", "job-2"}, names); diff != "" {
		t.Errorf("streams after load (-want +got):\n%s", diff)
	}
	want := map[string][]types.OutputLogEvent{
		"job-1": {{Timestamp: aws.Int64(t0.UnixMilli()), IngestionTime: aws.Int64(t0.UnixMilli()), Message: aws.String("[SUCCEEDED] Line Number 1")},
			{Timestamp: aws.Int64(t0.Add(time.Second).UnixMilli()), IngestionTime: aws.Int64(t0.UnixMilli()), Message: aws.String("[FAILED] Line Number 2")}},
		"job-2": {{Timestamp: aws.Int64(t0.UnixMilli()), IngestionTime: aws.Int64(t0.UnixMilli()), Message: aws.String("[SKIPPED] Line Number 1")}},
	}
	for stream, events := range want {
		got, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/cognito/userpools/import"), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(events, got.Events, cmpopts.IgnoreUnexported(types.OutputLogEvent{})); diff != "" {
			t.Errorf("%s after load (-want +got):\n%s", stream, diff)
		}
	}
	if got := dst.Messages("ap-northeast-1", "other", "s"); len(got) != 1 || got[0] != "elsewhere" {
		t.Errorf("other Region's stream after load: %v", got)
	}
}

package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

type recorder struct {
	region string
	in     *sns.PublishInput
}

func (r *recorder) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	r.in = in
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

// TestPublish: the message goes to the topic through its own Region's client, with a subject SNS
// accepts; a topic that is not an SNS ARN is refused before any call.
func TestPublish(t *testing.T) {
	rec := &recorder{}
	client := func(region string) *recorder { rec.region = region; return rec }
	long := strings.Repeat("s", 150)
	id, err := Publish(context.Background(), client, "arn:aws:sns:ap-northeast-3:123456789012:ops", long, "body")
	if err != nil || id != "m-1" {
		t.Fatalf("Publish = %q, %v", id, err)
	}
	if rec.region != "ap-northeast-3" || aws.ToString(rec.in.Message) != "body" {
		t.Errorf("published in %q: %+v", rec.region, rec.in)
	}
	if s := aws.ToString(rec.in.Subject); len(s) != MaxSubject || !strings.HasSuffix(s, "...") {
		t.Errorf("subject %q (%d characters)", s, len(s))
	}
	rec.in = nil
	if _, err := Publish(context.Background(), client, "not-an-arn", "s", "b"); err == nil || rec.in != nil {
		t.Errorf("a bad topic ARN: err %v, published %+v", err, rec.in)
	}
}

func TestCounts(t *testing.T) {
	if got := Counts(map[string]int{"b": 2, "a": 1}); got != "a 1, b 2" {
		t.Errorf("Counts = %q", got)
	}
}

package loopback

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreIDAndTime = cmpopts.IgnoreFields(Message{}, "ID", "Time")

func TestSNSPublishIsRecorded(t *testing.T) {
	ctx := t.Context()
	mailbox := filepath.Join(t.TempDir(), "mailbox.jsonl")
	stack := startStack(t, Config{AccountID: "123456789012", MailboxFile: mailbox})
	client := sns.NewFromConfig(stack.AWSConfig("eu-central-1"))

	follow := stack.SNS().Follow(ctx)

	var arn string
	for range 2 { // CreateTopic is idempotent
		out, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("dr-approvals")})
		if err != nil {
			t.Fatalf("CreateTopic: %v", err)
		}
		arn = aws.ToString(out.TopicArn)
	}
	if want := "arn:aws:sns:eu-central-1:123456789012:dr-approvals"; arn != want {
		t.Errorf("TopicArn = %q, want %q", arn, want)
	}

	sub, err := client.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(arn), Protocol: aws.String("email"), Endpoint: aws.String("ops@example.com"),
	})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if got := aws.ToString(sub.SubscriptionArn); got != "pending confirmation" {
		t.Errorf("Subscribe email: SubscriptionArn = %q, want pending confirmation", got)
	}
	subs, err := client.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListSubscriptionsByTopic: %v", err)
	}
	wantSubs := []types.Subscription{{
		Endpoint: aws.String("ops@example.com"), Owner: aws.String("123456789012"), Protocol: aws.String("email"),
		SubscriptionArn: aws.String("PendingConfirmation"), TopicArn: aws.String(arn),
	}}
	if diff := cmp.Diff(wantSubs, subs.Subscriptions, cmpopts.IgnoreUnexported(types.Subscription{})); diff != "" {
		t.Errorf("ListSubscriptionsByTopic (-want +got):\n%s", diff)
	}

	topics, err := client.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if diff := cmp.Diff([]types.Topic{{TopicArn: aws.String(arn)}}, topics.Topics, cmpopts.IgnoreUnexported(types.Topic{})); diff != "" {
		t.Errorf("ListTopics (-want +got):\n%s", diff)
	}

	pub, err := client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(arn),
		Subject:  aws.String("Approve failback of eu-central-1_abc"),
		Message:  aws.String("Open http://127.0.0.1/_local/approve/1 to approve."),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"execution": {DataType: aws.String("String"), StringValue: aws.String("exec-1")},
			"blob":      {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2}},
		},
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if _, err := client.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("second")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	want := []Message{
		{
			TopicArn: arn,
			Subject:  "Approve failback of eu-central-1_abc",
			Message:  "Open http://127.0.0.1/_local/approve/1 to approve.",
			Attributes: map[string]Attribute{
				"execution": {DataType: "String", StringValue: "exec-1"},
				"blob":      {DataType: "Binary", BinaryValue: []byte{1, 2}},
			},
		},
		{TopicArn: arn, Message: "second"},
	}
	got := stack.SNS().Messages()
	if diff := cmp.Diff(want, got, ignoreIDAndTime); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
	if len(got) > 0 && got[0].ID != aws.ToString(pub.MessageId) {
		t.Errorf("recorded ID %q, Publish returned MessageId %q", got[0].ID, aws.ToString(pub.MessageId))
	}

	var followed []Message
	for range want {
		select {
		case m := <-follow:
			followed = append(followed, m)
		case <-time.After(5 * time.Second):
			t.Fatal("Follow: timed out")
		}
	}
	if diff := cmp.Diff(want, followed, ignoreIDAndTime); diff != "" {
		t.Errorf("Follow (-want +got):\n%s", diff)
	}

	f, err := os.Open(mailbox)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []Message
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var m Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("mailbox line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if diff := cmp.Diff(want, lines, ignoreIDAndTime); diff != "" {
		t.Errorf("mailbox (-want +got):\n%s", diff)
	}
}

func TestSNSPublishErrors(t *testing.T) {
	ctx := t.Context()
	stack := startStack(t, Config{})
	client := sns.NewFromConfig(stack.AWSConfig("us-east-1"))
	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		in   sns.PublishInput
		want any // pointer to the error type errors.As must find
	}{
		{"missing topic", sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:nope"), Message: aws.String("m")}, new(*types.NotFoundException)},
		{"subject too long", sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String(strings.Repeat("s", 101)), Message: aws.String("m")}, new(*types.InvalidParameterException)},
		{"subject with newline", sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String("a\nb"), Message: aws.String("m")}, new(*types.InvalidParameterException)},
		{"message too long", sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(strings.Repeat("m", 256*1024+1))}, new(*types.InvalidParameterException)},
		{"empty message", sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("")}, new(*types.InvalidParameterException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Publish(ctx, &tt.in)
			if !errors.As(err, tt.want) {
				t.Fatalf("Publish: %v (%T), want %T", err, err, tt.want)
			}
		})
	}

	_, err = client.Publish(ctx, &tests[0].in)
	var nf *types.NotFoundException
	if errors.As(err, &nf) && nf.ErrorMessage() != "Topic does not exist" {
		t.Errorf("NotFound message = %q, want \"Topic does not exist\"", nf.ErrorMessage())
	}
	if n := len(stack.SNS().Messages()); n != 0 {
		t.Errorf("%d messages recorded after failed publishes, want 0", n)
	}

	if _, err := client.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(strings.Repeat("m", 256*1024))}); err != nil {
		t.Errorf("Publish of exactly 256 KB: %v", err)
	}
	if _, err := client.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: topic.TopicArn}); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	if _, err := client.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("m")}); !errors.As(err, &nf) {
		t.Errorf("Publish after DeleteTopic: %v, want *types.NotFoundException", err)
	}
}

func TestSNSFollowEndsOnClose(t *testing.T) {
	stack, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ch := stack.SNS().Follow(context.Background())
	if err := stack.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("Follow yielded a message, want a closed channel")
		}
	case <-time.After(5 * time.Second):
		t.Error("Follow channel still open after Close")
	}
}

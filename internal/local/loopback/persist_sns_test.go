package loopback

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestSaveLoadSNS: a stack loaded from another's SaveSNS has the topic and its subscriptions
// (an email one still pending confirmation), and a message published to the restored topic is
// recorded for it, where its restored subscribers get it.
func TestSaveLoadSNS(t *testing.T) {
	ctx := t.Context()
	src := startStack(t, Config{})
	c := sns.NewFromConfig(src.AWSConfig("ap-northeast-3"))
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("approvers")})
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []struct{ protocol, endpoint string }{{"email", "oncall@example.jp"}, {"sqs", "arn:aws:sqs:ap-northeast-3:000000000000:audit"}} {
		if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String(sub.protocol), Endpoint: aws.String(sub.endpoint)}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(c *sns.Client) *sns.ListSubscriptionsByTopicOutput {
		t.Helper()
		out, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
		if err != nil {
			t.Fatalf("ListSubscriptionsByTopic: %v", err)
		}
		return out
	}
	before := list(c)
	var saved bytes.Buffer
	if err := src.SaveSNS(&saved); err != nil {
		t.Fatal(err)
	}

	dst := startStack(t, Config{})
	if err := dst.LoadSNS(bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatal(err)
	}
	c2 := sns.NewFromConfig(dst.AWSConfig("ap-northeast-3"))
	after := list(c2)
	if diff := cmp.Diff(before.Subscriptions, after.Subscriptions, cmpopts.IgnoreUnexported(after.Subscriptions[0])); diff != "" {
		t.Errorf("subscriptions after the load (-before +after):\n%s", diff)
	}
	if len(after.Subscriptions) != 2 || aws.ToString(after.Subscriptions[0].SubscriptionArn) != "PendingConfirmation" {
		t.Errorf("subscriptions after the load: %+v", after.Subscriptions)
	}
	if _, err := c2.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String("Approve?"), Message: aws.String("after the restart")}); err != nil {
		t.Fatalf("publish to the restored topic: %v", err)
	}
	msgs := dst.SNS().Messages()
	if len(msgs) != 1 || msgs[0].TopicArn != aws.ToString(topic.TopicArn) || msgs[0].Message != "after the restart" {
		t.Errorf("messages after publishing to the restored topic: %+v", msgs)
	}
	// Loading again adds nothing twice.
	if err := dst.LoadSNS(bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatal(err)
	}
	if n := len(list(c2).Subscriptions); n != 2 {
		t.Errorf("%d subscriptions after loading twice, want 2", n)
	}
}

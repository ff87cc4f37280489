// Package notify publishes the operators' notifications to SNS, the one way every workflow does:
// the client of the topic's own Region (an alarm or a report must reach operators whichever Region
// is down), and a subject cut to the 100 characters SNS allows.
package notify

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
)

// Publisher is what publishing calls on SNS.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// MaxSubject is the longest subject SNS accepts.
const MaxSubject = 100

// Publish sends subject and body to topicArn through the client for the topic's Region and returns
// the message id. A subject longer than SNS allows is cut, with "..." at its end.
func Publish[P Publisher](ctx context.Context, client func(region string) P, topicArn, subject, body string) (string, error) {
	region, err := awsclients.TopicRegion(topicArn)
	if err != nil {
		return "", err
	}
	out, err := client(region).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topicArn), Subject: aws.String(Subject(subject)), Message: aws.String(body)})
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", topicArn, err)
	}
	return aws.ToString(out.MessageId), nil
}

// Subject is s cut to what SNS accepts.
func Subject(s string) string {
	if len(s) > MaxSubject {
		return s[:MaxSubject-3] + "..."
	}
	return s
}

// Counts renders counts by name, sorted by name: "a 1, b 2".
func Counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

package loopback

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func TestLogsRouting(t *testing.T) {
	var (
		mu      sync.Mutex
		targets []string
	)
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		targets = append(targets, r.Header.Get("X-Amz-Target"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"logGroups":[{"logGroupName":"/aws/cognito/userpools/x/y"}]}`)
	})
	stack := startStack(t, Config{Logs: fake})
	client := cloudwatchlogs.NewFromConfig(stack.AWSConfig("ap-northeast-3"))
	out, err := client.DescribeLogGroups(t.Context(), &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatalf("DescribeLogGroups: %v", err)
	}
	if len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != "/aws/cognito/userpools/x/y" {
		t.Errorf("DescribeLogGroups = %+v, want the fake's group", out.LogGroups)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"Logs_20140328.DescribeLogGroups"}, targets); diff != "" {
		t.Errorf("requests reaching the Logs handler (-want +got):\n%s", diff)
	}
}

func TestLogsWithoutHandler(t *testing.T) {
	stack := startStack(t, Config{})
	client := cloudwatchlogs.NewFromConfig(stack.AWSConfig("ap-northeast-3"))
	_, err := client.DescribeLogGroups(t.Context(), &cloudwatchlogs.DescribeLogGroupsInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" {
		t.Errorf("DescribeLogGroups without a Logs handler: %v, want UnknownOperationException", err)
	}
}

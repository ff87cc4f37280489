package awsclients

import "testing"

func TestTopicRegion(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sns:ap-northeast-3:123456789012:cognito-dr-ops":     "ap-northeast-3",
		"arn:aws-cn:sns:cn-north-1:123456789012:ops":                 "cn-north-1",
		"arn:aws:sns::123456789012:ops":                              "",
		"arn:aws:sqs:ap-northeast-3:123456789012:ops":                "",
		"arn:aws:sns:ap-northeast-3:123456789012:ops:subscription-1": "",
		"ap-northeast-3": "",
		"":               "",
	} {
		got, err := TopicRegion(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("TopicRegion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// OperatorTopic is a Region's SNS topic for the operators: workflow results and alarms. Each
// regional stack has its own so notifications keep working while the other Region is down.
type OperatorTopic struct {
	Topic awssns.Topic
	Key   awskms.Key
}

// NewOperatorTopic creates the KMS-encrypted, TLS-only topic with an email subscription per address.
func NewOperatorTopic(scope constructs.Construct, id string, name string, emails []string) *OperatorTopic {
	c := constructs.NewConstruct(scope, jsii.String(id))
	key := awskms.NewKey(c, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("Cognito DR: encrypts the operators' topic " + name),
		EnableKeyRotation: jsii.Bool(true),
	})
	// Alarm actions publish as CloudWatch, which must be able to use the key or the notification
	// is silently dropped.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarmsToPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"), // in a key policy "*" is this key
	}), nil)
	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		TopicName:   jsii.String(name),
		DisplayName: jsii.String("Cognito DR"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	for _, e := range emails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(e), nil))
	}
	return &OperatorTopic{Topic: topic, Key: key}
}

// GrantPublish lets a role publish to the encrypted topic: sns:Publish, and the key operations SNS
// performs on the publisher's behalf.
func (t *OperatorTopic) GrantPublish(role awsiam.IRole) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sns:Publish"),
		Resources: &[]*string{t.Topic.TopicArn()},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources: &[]*string{t.Key.KeyArn()},
	}))
}

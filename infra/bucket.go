package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The data buckets of the stacks (the backup bucket, the retry store) are built alike: a rotated
// customer key that outlives the stack, an access-log bucket, and a versioned, KMS-encrypted,
// TLS-only, private bucket that logs into it and is retained.

// newBucketKey creates a rotated KMS key that is retained with the data it encrypts.
func newBucketKey(scope constructs.Construct, id, description string) awskms.Key {
	return awskms.NewKey(scope, jsii.String(id), &awskms.KeyProps{
		Description:       jsii.String(description),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN, // without the key the data is lost
	})
}

// newAccessLogBucket creates the bucket receiving the server access logs of the bucket named by of
// ("backup", "retry"), kept for a year.
func newAccessLogBucket(scope constructs.Construct, id, of string) awss3.Bucket {
	b := awss3.NewBucket(scope, jsii.String(id), &awss3.BucketProps{
		// S3 server access logs can only be delivered to an SSE-S3 bucket.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(365)),
		}},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(b, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("This is the access-log bucket of the " + of + " bucket; logging it into itself would loop and another log bucket would only move the finding."),
	}}, jsii.Bool(true))
	return b
}

// newDataBucket creates the versioned bucket name encrypted with key (S3 Bucket Keys on), private,
// TLS 1.2 only, logging to accessLogs under <name>/, retained, with its lifecycle rules.
func newDataBucket(scope constructs.Construct, id, name string, key awskms.IKey, accessLogs awss3.IBucket, lifecycle []*awss3.LifecycleRule) awss3.Bucket {
	return awss3.NewBucket(scope, jsii.String(id), &awss3.BucketProps{
		BucketName:             jsii.String(name),
		Versioned:              jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_KMS,
		EncryptionKey:          key,
		BucketKeyEnabled:       jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		MinimumTLSVersion:      jsii.Number(1.2),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: accessLogs,
		ServerAccessLogsPrefix: jsii.String(name + "/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		LifecycleRules:         &lifecycle,
	})
}

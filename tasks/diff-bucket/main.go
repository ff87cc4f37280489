// Command diff-bucket is the Lambda of the reconcile state machine's DiffBefore and DiffAfter tasks.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func main() { lambdamain.Start(replication.DiffBucketTask) }

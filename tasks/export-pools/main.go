// Command export-pools is the Lambda of the reconcile state machine's ExportBefore and
// ExportAfter loops: both pools' resumable exports, then their partition into buckets.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func main() { lambdamain.Start(replication.ExportPoolsTask) }

// Command request-restore-approval is the Lambda of the restore state machine's RequestApproval task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

func main() { lambdamain.Start(restore.RequestRestoreApprovalTask) }

// Command verify-restore-drill is the Lambda of the restore state machine's VerifyDrill task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

func main() { lambdamain.Start(restore.VerifyRestoreDrillTask) }

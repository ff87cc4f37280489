// Command prepare-restore-target is the Lambda of the restore state machine's CreateTargetPool and AddCustomAttributes tasks.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

func main() { lambdamain.Start(restore.PrepareRestoreTargetTask) }

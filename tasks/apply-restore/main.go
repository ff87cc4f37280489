// Command apply-restore is the Lambda of the restore state machine's CreateUsers, RestoreGroups, RestoreMemberships and DisableUsers tasks.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

func main() { lambdamain.Start(restore.ApplyRestoreTask) }

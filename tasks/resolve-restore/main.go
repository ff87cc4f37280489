// Command resolve-restore is the Lambda of the restore state machine's ResolveSnapshot task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

func main() { lambdamain.Start(restore.ResolveRestoreTask) }

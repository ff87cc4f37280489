// Command write-restore-report is the Lambda of the restore state machine's WriteReport task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

func main() { lambdamain.Start(restore.WriteRestoreReportTask) }

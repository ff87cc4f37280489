// Command export is the Lambda of the backup state machine's Export task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

func main() { lambdamain.Start(backup.ExportTask) }

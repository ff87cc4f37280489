// Command capture-pool-config is the Lambda of the backup state machine's CapturePoolConfig task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

func main() { lambdamain.Start(backup.CapturePoolConfigTask) }

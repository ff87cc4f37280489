// Command upload-import is the Lambda of the UploadImport task of every state machine that
// imports users (failback, restore).
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
)

func main() { lambdamain.Start(importjob.UploadImportTask) }

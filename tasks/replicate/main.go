// Command replicate is the primary pool's PostConfirmation trigger: it copies each confirmed user to the DR pool.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func main() { lambdamain.StartTrigger(replication.PostConfirmationTrigger) }

// Command pre-token is the DR pool's PreTokenGeneration trigger: it adds the primary_sub claim to ID tokens.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func main() { lambdamain.StartTrigger(replication.PreTokenGenerationTrigger) }

// Command pre-token is the pre token generation trigger of both pools: refuses sign-in and token refresh while the pool is fenced, chains to the pool's own function, and adds the primary_sub claim to ID tokens.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func main() { lambdamain.StartTrigger(replication.PreTokenGenerationTrigger) }

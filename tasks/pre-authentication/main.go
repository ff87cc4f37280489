// Command pre-authentication is the pre authentication trigger of both pools: refuses sign-in while the pool is fenced, then chains to the pool's own function.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func main() { lambdamain.StartTrigger(replication.PreAuthenticationTrigger) }

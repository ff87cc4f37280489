// Command pre-sign-up is the pre sign-up trigger of both pools: refuses self-service sign-up while the pool is fenced, then chains to the pool's own pre sign-up function.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func main() { lambdamain.StartTrigger(replication.PreSignUpTrigger) }

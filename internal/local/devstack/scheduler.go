package devstack

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
)

// DeployReconcileSchedule creates the reconcile schedule in the DR Region as the reconcile stack
// deploys it (enabled, hourly, starting the reconcile state machine with the pools' request), so a
// failover has a schedule to pause.
func (s *Stack) DeployReconcileSchedule(ctx context.Context, primary, dr GatePool, name string) error {
	input, err := json.Marshal(map[string]string{
		"primaryUserPoolId": primary.ID, "primaryRegion": primary.Region, "drUserPoolId": dr.ID, "drRegion": dr.Region,
	})
	if err != nil {
		return err
	}
	region := dr.Region
	_, err = scheduler.NewFromConfig(s.AWS.AWSConfig(region)).CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name:                       aws.String(name),
		Description:                aws.String("Cognito DR: reconcile " + dr.ID + " with " + primary.ID),
		ScheduleExpression:         aws.String("rate(1 hour)"),
		ScheduleExpressionTimezone: aws.String("Asia/Tokyo"),
		FlexibleTimeWindow:         &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		State:                      types.ScheduleStateEnabled,
		Target: &types.Target{
			Arn:         aws.String(fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:cognito-dr-reconcile", region, localaws.DefaultAccountID)),
			RoleArn:     aws.String(fmt.Sprintf("arn:aws:iam::%s:role/cognito-dr-reconcile-schedule", localaws.DefaultAccountID)),
			Input:       aws.String(string(input)),
			RetryPolicy: &types.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(600), MaximumRetryAttempts: aws.Int32(5)},
		},
	})
	if err != nil {
		return fmt.Errorf("create schedule %s in %s: %w", name, region, err)
	}
	return nil
}

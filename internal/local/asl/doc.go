// Package asl runs Amazon States Language definitions locally.
//
// It executes the exact JSON the project deploys to AWS Step Functions
// (JSONPath query language only), with every Task resource bound to a Go
// function. Anything the package does not implement makes [Parse] fail with the
// state and field named, so a definition that runs here never silently differs
// from one that runs in AWS because a field was ignored.
//
// Known differences from AWS: JSON object keys are emitted in sorted order
// (AWS preserves insertion order), so States.JsonToString and task inputs may
// order keys differently; $$.Map.Item is available in ItemSelector (as in AWS)
// but not inside the iteration's states.
package asl

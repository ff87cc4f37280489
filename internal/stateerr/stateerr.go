// Package stateerr holds the errors whose Go type names are part of the contract with the state
// machines. A Go Lambda reports an error to Step Functions by its type name, so a Catch or Retry can
// only tell errors apart by type: these types are the names ASL may list in ErrorEquals.
// Domain code wraps them freely (fmt.Errorf("...: %w", err)); the Lambda boundary unwraps them with
// Named so Step Functions sees "PoolNotFound", not "wrapError".
package stateerr

import (
	"errors"
	"fmt"
	"reflect"
)

// Error is implemented only by the types of this package.
type Error interface {
	error
	// rename returns a copy of the error with msg as its message, keeping its type.
	rename(msg string) Error
}

// InvalidInput means the execution input (or a task's input) is malformed; retrying cannot help.
type InvalidInput struct{ Msg string }

// PoolNotFound means a user pool does not exist in the Region it was looked up in.
type PoolNotFound struct{ Msg string }

// BucketNotFound means the backup bucket does not exist or is not reachable with these credentials.
type BucketNotFound struct{ Msg string }

// SnapshotInvalid means a snapshot in S3 is missing a file or a file does not match its manifest.
type SnapshotInvalid struct{ Msg string }

// PoolNotImportable means the target pool cannot take an import at all (for example, it has no
// auto-verified attribute), so no CSV row could ever succeed.
type PoolNotImportable struct{ Msg string }

// PlanTampered means a file the approver approved (a failback plan file or import CSV) changed
// after the approval was requested: the step refused it and changed nothing.
type PlanTampered struct{ Msg string }

func (e *InvalidInput) Error() string      { return e.Msg }
func (e *PoolNotFound) Error() string      { return e.Msg }
func (e *BucketNotFound) Error() string    { return e.Msg }
func (e *SnapshotInvalid) Error() string   { return e.Msg }
func (e *PoolNotImportable) Error() string { return e.Msg }
func (e *PlanTampered) Error() string      { return e.Msg }

func (e *InvalidInput) rename(m string) Error      { return &InvalidInput{m} }
func (e *PoolNotFound) rename(m string) Error      { return &PoolNotFound{m} }
func (e *BucketNotFound) rename(m string) Error    { return &BucketNotFound{m} }
func (e *SnapshotInvalid) rename(m string) Error   { return &SnapshotInvalid{m} }
func (e *PoolNotImportable) rename(m string) Error { return &PoolNotImportable{m} }
func (e *PlanTampered) rename(m string) Error      { return &PlanTampered{m} }

// Invalid returns an InvalidInput error with a formatted message.
func Invalid(format string, args ...any) error { return &InvalidInput{fmt.Sprintf(format, args...)} }

// Named returns err as the first Error in its chain, carrying err's full message, so that the
// Lambda runtime reports the stable type name and the whole context as the cause. Errors with no
// Error in their chain are returned unchanged.
func Named(err error) error {
	var se Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	return se.rename(err.Error())
}

// Names lists the type names of every Error, as Step Functions sees them.
func Names() []string {
	all := []Error{&InvalidInput{}, &PoolNotFound{}, &BucketNotFound{}, &SnapshotInvalid{}, &PoolNotImportable{}, &PlanTampered{}}
	names := make([]string, len(all))
	for i, e := range all {
		names[i] = reflect.TypeOf(e).Elem().Name()
	}
	return names
}

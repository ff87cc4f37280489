package stateerr

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestNamedKeepsTypeAndFullMessage(t *testing.T) {
	inner := &PoolNotFound{Msg: "user pool ap-northeast-1_x does not exist"}
	wrapped := fmt.Errorf("export ap-northeast-1_x: %w", inner)

	got := Named(wrapped)

	if name := reflect.TypeOf(got).Elem().Name(); name != "PoolNotFound" {
		t.Errorf("type name = %q, want PoolNotFound", name)
	}
	if got.Error() != wrapped.Error() {
		t.Errorf("message = %q, want %q", got.Error(), wrapped.Error())
	}
}

func TestNamedLeavesOtherErrorsAlone(t *testing.T) {
	plain := errors.New("boom")
	if got := Named(plain); got != plain {
		t.Errorf("Named(plain) = %v, want the same error", got)
	}
	if Named(nil) != nil {
		t.Error("Named(nil) != nil")
	}
}

func TestNamesAreTheTypeNames(t *testing.T) {
	want := []string{"InvalidInput", "PoolNotFound", "BucketNotFound", "SnapshotInvalid", "PoolNotImportable", "PlanTampered"}
	if got := Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

package cognitoerr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

func TestUserFault(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("update: %w", &types.UserNotFoundException{}), true},
		{&types.AliasExistsException{}, true},
		{&types.InvalidPasswordException{}, true},
		{&types.ResourceNotFoundException{}, false},
		{&types.NotAuthorizedException{}, false},
		{errors.New("connection reset"), false},
	}
	for _, tt := range tests {
		if got := UserFault(tt.err); got != tt.want {
			t.Errorf("UserFault(%T) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

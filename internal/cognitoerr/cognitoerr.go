// Package cognitoerr sorts Cognito errors by what a bulk operation should do with them.
package cognitoerr

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// UserFault reports whether err concerns one user — it does not exist, one of its values is
// refused, its name or alias is taken — so a bulk operation records it and goes on, rather than
// a problem of the whole run (access denied, a missing pool, an outage), which stops it.
func UserFault(err error) bool {
	var (
		notFound *types.UserNotFoundException
		invalid  *types.InvalidParameterException
		exists   *types.UsernameExistsException
		alias    *types.AliasExistsException
		password *types.InvalidPasswordException
	)
	return errors.As(err, &notFound) || errors.As(err, &invalid) || errors.As(err, &exists) ||
		errors.As(err, &alias) || errors.As(err, &password)
}

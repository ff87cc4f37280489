package devstack

import (
	"net/http"
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/approval"
)

// ServeApprovals mounts the approval pages on the stack under approval.LocalPath and returns the
// BaseURL to configure the approval.Service with, so local links open in a local browser.
func (s *Stack) ServeApprovals(h http.Handler) (baseURL string) {
	s.AWS.Handle(approval.LocalPath, h)
	return s.URL() + strings.TrimSuffix(approval.LocalPath, "/")
}

package cognito

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
)

// OutageMode is how the emulator refuses requests during an outage (SetOutage).
type OutageMode int

const (
	// OutageInternalError answers every request with HTTP 500 InternalErrorException.
	OutageInternalError OutageMode = iota + 1
	// OutageConnectionReset reads the request and resets the connection without an answer, as a
	// broken network path or a crashed front end would.
	OutageConnectionReset
)

// outage is a test fault: the whole service is unreachable for a stretch the test decides.
type outage struct {
	mode    OutageMode
	down    func(op string) bool
	refused atomic.Int64
}

// SetOutage makes the emulator refuse every request in mode while down returns true. down is
// asked once per request, with the operation's name, before anything else is done (no quota
// token is taken, nothing is changed), so a test decides when the outage begins and ends — for
// example from the n-th call of an operation until its fake clock passes a time. A nil down ends
// the outage.
func (e *Emulator) SetOutage(mode OutageMode, down func(op string) bool) {
	if down == nil {
		e.outage.Store(nil)
		return
	}
	e.outage.Store(&outage{mode: mode, down: down})
}

// OutageRefused is how many requests the current outage (SetOutage) has refused.
func (e *Emulator) OutageRefused() int64 {
	if o := e.outage.Load(); o != nil {
		return o.refused.Load()
	}
	return 0
}

// refuseInOutage answers r as an outage would and reports whether it did.
func (e *Emulator) refuseInOutage(w http.ResponseWriter, r *http.Request) bool {
	o := e.outage.Load()
	if o == nil {
		return false
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !o.down(op) {
		return false
	}
	o.refused.Add(1)
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
	if o.mode == OutageConnectionReset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tcp, ok := conn.(*net.TCPConn); ok {
					_ = tcp.SetLinger(0) // close with RST, not FIN: "connection reset by peer"
				}
				_ = conn.Close()
				return true
			}
		}
	}
	writeError(w, errInternal())
	return true
}

// Package s3fault kills S3 writes on demand, as an invocation killed in the middle of a unit of
// work leaves its files: what the tests of resumable steps use to show that a resumed step ends
// with what an uninterrupted one writes. Reads counts the objects a step reads, for the tests
// that show an invocation reads only its share.
package s3fault

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// ErrKilled is the error of a write refused by an armed Kill.
var ErrKilled = errors.New("killed mid-unit")

// Kill fails every PutObject and multipart part once, armed, more writes have succeeded than it
// allows. It starts disarmed.
type Kill struct {
	puts    atomic.Int32
	after   atomic.Int32
	tripped atomic.Bool
}

// New returns a disarmed Kill.
func New() *Kill {
	k := &Kill{}
	k.after.Store(-1)
	return k
}

// Arm lets after more writes succeed, then fails the rest until Disarm.
func (k *Kill) Arm(after int) {
	k.puts.Store(0)
	k.after.Store(int32(after))
}

// Disarm lets every write through.
func (k *Kill) Disarm() { k.after.Store(-1) }

// Killed disarms k and reports whether it failed a write since it was last asked.
func (k *Kill) Killed() bool {
	k.Disarm()
	return k.tripped.Swap(false)
}

// Client is a copy of c whose PutObject and UploadPart calls fail while k is armed and spent.
func (k *Kill) Client(c *s3.Client) *s3.Client { return withFirst(c, "s3fault", k.initialize) }

// withFirst is a copy of c whose calls go through fn (named name) before anything else.
func withFirst(c *s3.Client, name string, fn func(context.Context, middleware.InitializeInput, middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error)) *s3.Client {
	return s3.New(c.Options(), func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(name, fn), middleware.Before)
		})
	})
}

func (k *Kill) initialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	switch awsmiddleware.GetOperationName(ctx) {
	case "PutObject", "UploadPart":
		if n := k.after.Load(); n >= 0 && k.puts.Add(1) > n {
			k.tripped.Store(true)
			return middleware.InitializeOutput{}, middleware.Metadata{}, ErrKilled
		}
	}
	return next.HandleInitialize(ctx, in)
}

// Reads counts the objects read (GetObject) through the clients it makes, by key.
type Reads struct {
	mu   sync.Mutex
	gets map[string]int
}

// NewReads returns a Reads that has counted nothing.
func NewReads() *Reads { return &Reads{gets: map[string]int{}} }

// Client is a copy of c whose GetObject calls r counts.
func (r *Reads) Client(c *s3.Client) *s3.Client { return withFirst(c, "s3fault-reads", r.initialize) }

func (r *Reads) initialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	if get, ok := in.Parameters.(*s3.GetObjectInput); ok {
		r.mu.Lock()
		r.gets[aws.ToString(get.Key)]++
		r.mu.Unlock()
	}
	return next.HandleInitialize(ctx, in)
}

// Take returns how often each key was read since the last Take.
func (r *Reads) Take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.gets
	r.gets = map[string]int{}
	return g
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// approvalPages serves a rehearsed failback's or restore's approval page from this process: the page the
// deployed approval-page Lambda serves (approval.Service), on loopback, with decisions sent to the
// in-process executor (devstack.Callbacks) instead of Step Functions.
type approvalPages struct {
	svc *approval.Service
	srv *http.Server
	ln  net.Listener
	// keys is what another process (a bench task's) needs to create approvals these pages
	// answer: the signing key, the pages' address and the bucket.
	keys approvalKeys
}

// approvalKeys are what makes approvals a set of pages answers: approvals created with the same
// signing key, in the same bucket, with links to the same address.
type approvalKeys struct {
	Key          []byte `json:"key"`
	BaseURL      string `json:"baseUrl"`
	Bucket       string `json:"bucket"`
	BucketRegion string `json:"bucketRegion"`
}

// service is the approval service over k, without callbacks: it creates approvals and answers
// their pages; decisions need Callbacks set.
func (k approvalKeys) service(clients *awsclients.Clients, log *slog.Logger) (*approval.Service, error) {
	signer, err := approval.NewSigner(k.Key)
	if err != nil {
		return nil, err
	}
	return &approval.Service{
		Store:   &approval.S3Store{Client: clients.S3(k.BucketRegion), Bucket: k.Bucket},
		Signer:  signer,
		BaseURL: k.BaseURL,
		Log:     log,
	}, nil
}

// loopbackOnly refuses an address a browser elsewhere could reach: the page is plain HTTP and its
// link, which decides the failback, would travel in the clear.
func loopbackOnly(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return usagef("--listen %q: %v", listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usagef("--listen %q: the approval page is served on loopback only (e.g. 127.0.0.1:8080)", listen)
	}
	return nil
}

// listenApprovals listens on listen and builds the approval service over the failback's or
// restore's bucket (the input's bucket and bucketRegion, where the deployed stack keeps approvals
// too), signing links with a key that lives as long as this process. Serve starts answering.
func listenApprovals(listen string, input []byte, clients *awsclients.Clients, log *slog.Logger) (*approvalPages, error) {
	var req struct {
		Bucket       string `json:"bucket"`
		BucketRegion string `json:"bucketRegion"`
	}
	// An input without a bucket fails the execution's first state (InvalidInput), before any
	// approval is stored, so nothing is checked here.
	_ = json.Unmarshal(input, &req)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, usagef("--listen %s: %v", listen, err)
	}
	keys := approvalKeys{Key: key, BaseURL: "http://" + ln.Addr().String() + strings.TrimSuffix(approval.LocalPath, "/"),
		Bucket: req.Bucket, BucketRegion: req.BucketRegion}
	svc, err := keys.service(clients, log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(approval.LocalPath, svc)
	return &approvalPages{svc: svc, ln: ln, keys: keys, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Serve answers the page's requests until Close.
func (a *approvalPages) Serve() {
	go func() { _ = a.srv.Serve(a.ln) }()
}

// Close stops serving, letting a decision being answered finish (its page shows the outcome).
func (a *approvalPages) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return a.srv.Close()
	}
	return nil
}

// announcedApprovals creates approvals as the deployed task does (the email still goes to the
// topic) and shows the link to the operator on w, which is a terminal, not a log. pool names the
// pool nothing is written to before the decision.
type announcedApprovals struct {
	failback.Approvals
	w    io.Writer
	pool string
}

func (a announcedApprovals) Create(ctx context.Context, token, execution string, sum approval.Summary, ttl time.Duration) (string, error) {
	link, err := a.Approvals.Create(ctx, token, execution, sum, ttl)
	if err == nil {
		fmt.Fprintf(a.w, "\nWaiting for approval: open this link in a browser on this machine and press Approve or Reject\n(it was also sent to the topic; nothing changes in %s until someone approves):\n  %s\n\n", a.pool, link)
	}
	return link, err
}

// failbackSteps configures failback's tasks as the deployed stack's environment does, with
// approvals served by pages.
func failbackSteps(clients *awsclients.Clients, topic, importLogsRole string, rates quota.Rates, pages *approvalPages, stderr io.Writer) *failback.Steps {
	s := failback.NewSteps(clients, topic, importLogsRole)
	s.Quota = quota.NewRegistry(rates)
	s.Approvals = announcedApprovals{Approvals: pages.svc, w: stderr, pool: "the primary pool"}
	return s
}

// restoreSteps configures restore's tasks as the deployed stack's environment does, with
// approvals (a target that has users) served by pages.
func restoreSteps(clients *awsclients.Clients, topic, importLogsRole string, rates quota.Rates, pages *approvalPages, stderr io.Writer) *restore.Steps {
	s := restore.NewSteps(clients, topic, importLogsRole)
	s.Quota = quota.NewRegistry(rates)
	s.Import.Quota = s.Quota
	s.Approvals = announcedApprovals{Approvals: pages.svc, w: stderr, pool: "the target pool"}
	return s
}

// bindDecisions sends the page's decisions to the execution waiting in this process.
func (a *approvalPages) bindDecisions(c devstack.Callbacks) { a.svc.Callbacks = c }

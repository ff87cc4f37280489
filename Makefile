# Cognito DR — make targets are contracts: demo, test, bench, local, synth.
GO ?= go
ASL := $(wildcard statemachines/*.asl.json)

.PHONY: help demo demo-failback demo-restore test bench local synth dist

## help: list these targets.
help:
	@sed -n 's/^## \([a-z-]*\): /\1\t/p; s/^## /\t/p' $(MAKEFILE_LIST) | expand -t 16

## demo: start the embedded local stack, seed a Tokyo-style pool and run the backup state machine.
demo:
	$(GO) run ./cmd/cognito-dr demo

## demo-failback: continue the story: outage, changes in Osaka, approval-gated failback to Tokyo, report.
demo-failback:
	$(GO) run ./cmd/cognito-dr demo-failback

## demo-restore: the pool-loss story: a backup, the Tokyo pool deleted, a new pool restored from the snapshot, a user signing in.
demo-restore:
	$(GO) run ./cmd/cognito-dr demo-restore

## test: vet, unit and end-to-end tests (with the race detector) on the local stack, and the npm asl-validator on every ASL file.
## A package may take 30 minutes, not go test's default 10: cmd/cognito-dr's scale tests run whole
## workflows in child processes and take about 8 minutes on a loaded 2-core machine.
test: node_modules
	$(GO) vet ./...
	$(GO) test -race -timeout 30m ./...
	npx --no-install asl-validator $(foreach f,$(ASL),--json-path $(f))

## bench: benchmarks on the emulator with AWS default quotas and 100 ms latency (export, replication, reconcile, failback, fence, restore, drill, memory, scale; select parts with `go run ./cmd/cognito-dr bench -h`).
bench:
	$(GO) run ./cmd/cognito-dr bench

## local: run the local stack on its own (prints its endpoint and seeded pool ids); DATA_DIR=dir keeps its state across restarts.
local:
	$(GO) run ./cmd/cognito-dr local $(if $(DATA_DIR),--data-dir $(DATA_DIR))

# npm packages ship Go files (the CDK CLI's init templates); a go.mod inside node_modules makes it a
# module of its own, so ./... never reaches into it.
## synth: build the task Lambdas (linux/arm64) and synthesize the CDK stacks into cdk.out, offline:
## no credentials, no lookups (account and Regions come from the config), no notices, no version
## check or telemetry. CONFIG defaults to cognito-dr.json, or the example when there is none.
CONFIG ?= $(if $(wildcard cognito-dr.json),cognito-dr.json,infra/cognito-dr.example.json)
synth: node_modules
	CDK_DISABLE_VERSION_CHECK=true CDK_DISABLE_CLI_TELEMETRY=true \
		npx --no-install cdk synth --no-notices --no-version-reporting --quiet -c config=$(CONFIG)

node_modules: package-lock.json
	npm ci --no-audit --no-fund
	@echo 'module ignore-node-modules' > node_modules/go.mod
	@touch node_modules

## dist: build the CLI for linux and darwin on amd64 and arm64 into dist/, the version stamped
## (VERSION defaults to `git describe`), with SHA256SUMS.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
DIST_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
dist:
	@rm -rf dist && mkdir -p dist
	@for t in $(DIST_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; out=dist/cognito-dr-$(VERSION)-$$os-$$arch; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $$out ./cmd/cognito-dr || exit 1; \
	done
	cd dist && sha256sum cognito-dr-* > SHA256SUMS

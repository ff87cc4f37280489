# Cognito DR — make targets are contracts: demo, test, bench, local, synth.
GO ?= go
ASL := $(wildcard statemachines/*.asl.json)

.PHONY: demo demo-failback test bench local synth

## demo: start the embedded local stack, seed a Tokyo-style pool and run the backup state machine.
demo:
	$(GO) run ./cmd/cognito-dr demo

## demo-failback: continue the story: outage, changes in Osaka, approval-gated failback to Tokyo, report.
demo-failback:
	$(GO) run ./cmd/cognito-dr demo-failback

## test: vet, unit and end-to-end tests (with the race detector) on the local stack, and the npm asl-validator on every ASL file.
test: node_modules
	$(GO) vet ./...
	$(GO) test -race ./...
	npx --no-install asl-validator $(foreach f,$(ASL),--json-path $(f))

## bench: export benchmarks against the emulator with AWS default quotas and 100 ms latency.
bench:
	$(GO) run ./cmd/cognito-dr bench

## local: run the local stack on its own (prints its endpoint and seeded pool ids).
local:
	$(GO) run ./cmd/cognito-dr local

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

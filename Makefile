# Cognito DR — make targets are contracts: demo, test, bench, local (and later synth).
GO ?= go
ASL := $(wildcard statemachines/*.asl.json)

.PHONY: demo test bench local lint-asl node_modules

## demo: start the embedded local stack, seed a Tokyo-style pool and run the backup state machine.
demo:
	$(GO) run ./cmd/cognito-dr demo

## test: vet, unit and end-to-end tests on the local stack, and the npm asl-validator on every ASL file.
test: node_modules
	$(GO) vet ./...
	$(GO) test ./...
	npx --no-install asl-validator $(foreach f,$(ASL),--json-path $(f))

## bench: export benchmarks against the emulator with AWS default quotas and 100 ms latency.
bench:
	$(GO) run ./cmd/cognito-dr bench

## local: run the local stack on its own (prints its endpoint and seeded pool ids).
local:
	$(GO) run ./cmd/cognito-dr local

# npm packages ship Go files (the CDK CLI's init templates); a go.mod inside node_modules makes it a
# module of its own, so ./... never reaches into it.
node_modules: package-lock.json
	npm ci --no-audit --no-fund
	@echo 'module ignore-node-modules' > node_modules/go.mod
	@touch node_modules

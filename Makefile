# The project's entry points. CI runs `make test` (through .ci/run), as a person does.
.PHONY: help setup build test dev smoke bench bench-variants fuzz fuzz-long schemathesis schemathesis-long lint synth routes clean

ARCH ?= arm64
STAGE ?= dev
PORT ?= 3000

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## Install node_modules and the Python venv from the project's lock files
	scripts/setup.sh

build: ## Build every function's bootstrap.zip for Lambda (ARCH=arm64|x86_64)
	scripts/build.sh $(ARCH)

test: ## Run every test and check (installs, builds, starts DynamoDB Local)
	scripts/test.sh

dev: ## Serve the whole API on http://127.0.0.1:$(PORT) with DynamoDB Local
	PORT=$(PORT) scripts/dev.sh

smoke: ## Smoke-test every function against BASE_URL (default: the local server)
	scripts/smoke.sh $(or $(BASE_URL),http://127.0.0.1:$(PORT))

bench: ## Measure every release artifact (size, init, latency, CPU, RSS) → docs/BENCHMARKS.md
	scripts/bench.sh

bench-variants: ## What each release-profile choice buys (slow: one clean build per variant)
	scripts/bench-variants.sh

fuzz: ## Fuzz every parser of untrusted input, 60 s per target (nightly + cargo-fuzz)
	scripts/fuzz.sh 60

fuzz-long: ## Fuzz every target for 15 minutes
	scripts/fuzz.sh 900

schemathesis: ## Property-based API tests from the contract against the local server (short)
	scripts/schemathesis.sh

schemathesis-long: ## The same with 300 examples per operation
	scripts/schemathesis.sh --long

lint: ## cargo fmt --check, clippy -D warnings, tsc --noEmit (what make test runs first)
	scripts/lint.sh

routes: ## The route table: operation, method, path, function, DynamoDB actions (from api/openapi.json)
	cargo run --quiet --locked -p api-contract --bin routes

synth: ## Synthesize the CloudFormation template (STAGE=dev|staging|prod, ARCH=arm64|x86_64)
	npx --no-install cdk synth -c stage=$(STAGE) -c arch=$(ARCH)

clean: ## Remove build output and local state
	rm -rf target/lambda cdk.out .local

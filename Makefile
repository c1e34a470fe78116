# The project's entry points. CI runs `make test` (through .ci/run), as a person does.
.PHONY: help setup setup-node build test dev smoke bench bench-variants fuzz fuzz-long schemathesis schemathesis-long lint synth routes docs test-browser clean deploy deploy-account smoke-user token diff ci-plan ci-role

# Whether STAGE was given (command line or environment) rather than taken from the default below:
# `make smoke` tests the local server, `make smoke STAGE=…` the deployed stage.
STAGE_GIVEN := $(filter-out undefined,$(origin STAGE))
ARCH ?= arm64
STAGE ?= dev
PORT ?= 3000
# The operator CLI (tools/operator); built on first use. Tests point OPERATOR at a built binary.
OPERATOR ?= cargo run --quiet --locked -p operator --
# CI runs the binary that make test built and tested, downloaded from the build job
# (OPERATOR_BIN=target/debug/operator); an artifact loses the executable bit, restored here.
ifdef OPERATOR_BIN
OPERATOR = $(shell chmod +x '$(OPERATOR_BIN)')$(OPERATOR_BIN)
endif
# BUILD=false: synthesize with the Lambda zips as they are (-c build=false), never build them.
NO_BUILD = $(if $(filter false no 0,$(BUILD)),--no-build)
# Optional arguments of the operator targets. USER counts only on the command line: the
# environment's USER is the login name.
OPERATOR_ARGS = $(if $(REGION),--region $(REGION)) \
  $(if $(filter command line,$(origin USER)),--user $(USER)) \
  $(if $(CLIENT),--client $(CLIENT))
need-stage = $(if $(STAGE_GIVEN),,$(error make $@ needs STAGE=dev, staging or prod))

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: ## Install node_modules and the Python venv from the project's lock files
	scripts/setup.sh

setup-node: ## Install node_modules only (what deploy, diff and smoke STAGE=… need beside the operator)
	scripts/setup.sh node

build: ## Build every function's bootstrap.zip for Lambda (ARCH=arm64|x86_64)
	scripts/build.sh $(ARCH)

test: ## Run every test and check (installs, builds, starts DynamoDB Local)
	scripts/test.sh

test-browser: ## The browser tests alone: a client app on another origin and the API reference in Chromium
	scripts/browser-test.sh

dev: ## Serve the whole API on http://127.0.0.1:$(PORT) with DynamoDB Local
	PORT=$(PORT) scripts/dev.sh

smoke: ## Smoke-test every function: the local server, or with STAGE=… the deployed stage
ifdef STAGE_GIVEN
	@$(OPERATOR) smoke --stage $(STAGE) $(OPERATOR_ARGS)
else
	scripts/smoke.sh $(or $(BASE_URL),http://127.0.0.1:$(PORT))
endif

deploy: ## Check the account, then deploy STAGE=… (REGION, ALARM_EMAIL, SKIP_ACCOUNT_STACK=1, REQUIRE_APPROVAL=never, BUILD=false)
	$(need-stage)
	@$(OPERATOR) deploy --stage $(STAGE) --arch $(ARCH) $(OPERATOR_ARGS) \
	  $(if $(ALARM_EMAIL),--alarm-email $(ALARM_EMAIL)) \
	  $(if $(filter 1 true yes,$(SKIP_ACCOUNT_STACK)),--skip-account-stack-check) \
	  $(if $(REQUIRE_APPROVAL),--require-approval $(REQUIRE_APPROVAL)) $(NO_BUILD)

diff: ## cdk diff of STAGE=… against its deployed stacks; fails on a stateful replacement or deletion (PR_LABELS, BUILD=false)
	$(need-stage)
	@$(OPERATOR) diff --stage $(STAGE) --arch $(ARCH) $(OPERATOR_ARGS) \
	  $(if $(ALARM_EMAIL),--alarm-email $(ALARM_EMAIL)) $(NO_BUILD)

ci-plan: ## CI: whether config/account.json sets githubActions, and its environments (GitHub step outputs)
	@node --import tsx cdk/tools/github-actions.ts plan

ci-role: ## CI: the role ENVIRONMENT=… assumes (ROLE=deploy or diff), its region and account (GitHub step outputs)
	@node --import tsx cdk/tools/github-actions.ts role $(ENVIRONMENT) $(or $(ROLE),deploy)

deploy-account: ## Deploy the once-per-account stack in REGION (default: AWS_REGION / the profile's)
	@$(OPERATOR) deploy-account $(OPERATOR_ARGS) $(if $(REQUIRE_APPROVAL),--require-approval $(REQUIRE_APPROVAL))

smoke-user: ## Create, reuse or repair STAGE=…'s smoke user (USER=name, ROTATE=1)
	$(need-stage)
	@$(OPERATOR) smoke-user --stage $(STAGE) $(OPERATOR_ARGS) $(if $(filter 1 true yes,$(ROTATE)),--rotate)

token: ## Print export ID_TOKEN=… API_KEY=… for STAGE=…'s smoke user (USER, CLIENT, JSON=1)
	$(need-stage)
	@$(OPERATOR) token --stage $(STAGE) $(OPERATOR_ARGS) $(if $(filter 1 true yes,$(JSON)),--json)

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

lint: ## cargo fmt --check, clippy -D warnings, tsc --noEmit, actionlint (what make test runs first)
	scripts/lint.sh

docs: ## Build the API reference, one self-contained page: target/docs/index.html (API_URL=… lists a stage's URL first)
	scripts/setup.sh node
	node --import tsx web/api-reference.ts $(if $(API_URL),--server-url '$(API_URL)')

routes: ## The route table: operation, method, path, function, DynamoDB actions (from api/openapi.json)
	cargo run --quiet --locked -p api-contract --bin routes

synth: ## Synthesize a stage's template (STAGE=dev|staging|prod, ARCH=arm64|x86_64, ALARM_EMAIL=… outside dev)
	npx --no-install cdk synth -c stage=$(STAGE) -c arch=$(ARCH) $(if $(ALARM_EMAIL),-c alarmEmail=$(ALARM_EMAIL))

clean: ## Remove build output and local state
	rm -rf target/lambda cdk.out .local

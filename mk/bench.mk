# SPDX-License-Identifier: BSD-2-Clause
# `make bench` (root): probe cost against the empty-program floor, bpftrace and
# prometheus_client; scrape time and size; exporter memory and CPU; exactness. One table,
# printed and written to $(OUTPUT)/bench/results.md. BENCH_ARGS passes flags to bench/bench.py
# (--reps N, --quick, --only ROW...).
.PHONY: bench

BENCH_SERIES := $(OUTPUT)/ccproxy-bench-series

# A probe target with one request_complete site, for the scrape and memory rows.
$(BENCH_SERIES): bench/series.c include/ccproxy/probes.h | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@

bench: all python $(OUTPUT)/ccproxy-floor $(BENCH_SERIES)
	$(Q)$(PYTHON) bench/bench.py --output $(OUTPUT) $(BENCH_ARGS)

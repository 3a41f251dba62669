# SPDX-License-Identifier: BSD-2-Clause
# libFuzzer targets (clang): `make fuzz` runs each for FUZZ_TIME seconds from its committed
# corpus in fuzz/corpus/<target>/ (read-only: new inputs go to $(OUTPUT)/fuzz/new-<target>).
# A crash leaves its input in $(OUTPUT)/fuzz/ and fails the run.
.PHONY: fuzz fuzz-build

FUZZ_TIME    ?= 20
FUZZ_SRCS    := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS    := $(patsubst src/%.c,$(OUTPUT)/fuzz/obj/%.o,$(LIB_SRCS)) \
		$(OUTPUT)/fuzz/obj/metrics.pb-c.o
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -g -O1 $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) \
		-DCCPROXY_EXPORTER_VERSION=\"$(VERSION)\"

$(OUTPUT)/fuzz/obj:
	$(Q)mkdir -p $@

$(OUTPUT)/fuzz/obj/%.o: src/%.c | $(SKEL) $(PROTO_H) $(OUTPUT)/fuzz/obj
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/fuzz/obj/metrics.pb-c.o: $(PROTO_C) | $(OUTPUT)/fuzz/obj
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(call msg,FUZZER,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) $(DEPFLAGS) -MF $@.d -MT $@ \
		$(filter %.c %.o,$^) $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)set -e; for b in $(FUZZ_BINS); do t=$${b##*/fuzz_}; echo "== fuzz $$t ($(FUZZ_TIME)s)"; \
		mkdir -p $(OUTPUT)/fuzz/new-$$t; \
		$$b -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(OUTPUT)/fuzz/$$t- $(OUTPUT)/fuzz/new-$$t fuzz/corpus/$$t \
			2>$(OUTPUT)/fuzz/$$t.log || { tail -40 $(OUTPUT)/fuzz/$$t.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units|cov:' $(OUTPUT)/fuzz/$$t.log | tail -2; done

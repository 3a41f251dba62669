# SPDX-License-Identifier: BSD-2-Clause
# Hardening: the hostile target program, a sanitizer build of the exporter and a valgrind run.
#
#   make OUTPUT=build-asan SAN=1 integration   every integration test against an exporter built
#                                              with ASan + UBSan (it aborts on the first error)
#   make valgrind                              the unit tests once, unsanitized, under valgrind
.PHONY: hardening valgrind

HOSTILE := $(OUTPUT)/hostile_target
VALGRIND ?= valgrind
VG_OBJS := $(filter-out $(OUTPUT)/obj/main.o,$(APP_OBJS))
VG_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/vg/%,$(UNIT_SRCS))

# Only the exporter: the Python extension must stay loadable by an unsanitized interpreter.
ifeq ($(SAN),1)
$(OUTPUT)/obj/%.o: SAN_CFLAGS := -O1 $(SANFLAGS)
$(OUTPUT)/ccproxy_exporter: SAN_CFLAGS := -O1 $(SANFLAGS)
endif

# Like any proxy, it knows nothing but the public header.
$(HOSTILE): tests/integration/hostile_target.c include/ccproxy/probes.h | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) -g -O2 $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude $< -o $@

hardening: $(HOSTILE)
integration: $(HOSTILE)

$(OUTPUT)/vg:
	$(Q)mkdir -p $@

$(OUTPUT)/vg/test_%: tests/unit/test_%.c $(VG_OBJS) | $(OUTPUT)/vg
	$(call msg,TEST-VG,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O1 $^ $(LDLIBS) -lcriterion -o $@

# -O1 as the sanitizer unit build (test_config.c trips -Wformat-truncation at -O2).
# Criterion runs each test in a child process: valgrind follows them (not the system tools
# some tests run, such as promtool); any error fails the run.
valgrind: $(VG_BINS)
	$(Q)set -e; for t in $(VG_BINS); do echo "== valgrind $$t"; \
		$(VALGRIND) -q --trace-children=yes --trace-children-skip='/usr/*,/bin/*' \
			--error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite --suppressions=mk/valgrind.supp \
			$$t --jobs 1 >$$t.log 2>&1 || { tail -50 $$t.log; exit 1; }; tail -1 $$t.log; done

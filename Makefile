# SPDX-License-Identifier: BSD-2-Clause
# Build on libbpf-bootstrap's model: vmlinux.h -> bpf object -> skeleton -> userspace.
OUTPUT    ?= build
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
PYTHON    ?= /usr/bin/python3
PREFIX    ?= /usr/local
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VMLINUX   := vmlinux/$(ARCH)/vmlinux.h

WARN      := -Wall -Wextra -Werror
INCLUDES  := -Iinclude -Ibpf -Isrc -I$(OUTPUT) -I$(OUTPUT)/proto
VERSION   := 0.1.0
# CFLAGS is the user's (make CFLAGS=-O0): recipes add the project's flags beside it, so an
# override changes optimisation or debug info, never the includes, defines and warnings.
CFLAGS    ?= -g -O2
PROJ_CFLAGS := $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) \
	       -DCCPROXY_EXPORTER_VERSION=\"$(VERSION)\"
# SAN_CFLAGS: set per target by the SAN=1 build (mk/hardening.mk).
ALL_CFLAGS = $(PROJ_CFLAGS) $(CFLAGS) $(SAN_CFLAGS)
# Each object depends on the headers it includes, as the compiler lists them.
DEPFLAGS  = -MMD -MP
# libcrypt: bcrypt for basic auth; gnutls: client certificate checks (libmicrohttpd's TLS);
# libyaml: the web config file; libprotobuf-c: the protobuf exposition format.
LDLIBS    := -lbpf -lelf -lz -lmicrohttpd -lgnutls -lcrypt -lyaml -lprotobuf-c -lpthread -lm -lcurl
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Clang's own system include dirs, so BPF code sees asm/ and bits/ headers (libbpf-bootstrap).
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKEL      := $(OUTPUT)/ccproxy.skel.h

# Generated: the protobuf exposition's messages (protoc-c), compiled like a source of src/.
PROTO_C   := $(OUTPUT)/proto/metrics.pb-c.c
PROTO_H   := $(OUTPUT)/proto/metrics.pb-c.h

APP_SRCS  := $(wildcard src/*.c)
APP_OBJS  := $(patsubst src/%.c,$(OUTPUT)/obj/%.o,$(APP_SRCS)) $(OUTPUT)/obj/metrics.pb-c.o
LIB_SRCS  := $(filter-out src/main.c,$(APP_SRCS))
SAN_OBJS  := $(patsubst src/%.c,$(OUTPUT)/san/%.o,$(LIB_SRCS)) $(OUTPUT)/san/metrics.pb-c.o

# The load generator reads its own probe notes as the exporter does.
LOADGEN_SRCS := $(wildcard tools/loadgen/*.c) src/probe_notes.c src/files.c
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all clean test check unit integration install deps

all: $(OUTPUT)/ccproxy_exporter $(OUTPUT)/ccproxy-loadgen

deps:
	$(Q)scripts/install-deps.sh

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/obj $(OUTPUT)/san $(OUTPUT)/tests $(OUTPUT)/proto:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/*.h include/ccproxy/probes.h $(VMLINUX) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I$(dir $(VMLINUX)) -Ibpf -Iinclude $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(OUTPUT)/ccproxy.bpf.o: $(BPF_OBJS)
	$(call msg,LINK-BPF,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(OUTPUT)/ccproxy.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name ccproxy_bpf > $@

$(PROTO_C) $(PROTO_H) &: proto/metrics.proto | $(OUTPUT)/proto
	$(call msg,PROTOC,$@)
	$(Q)protoc-c --proto_path=proto --c_out=$(OUTPUT)/proto $<

# The skeleton and the protobuf header are generated: they must exist before the first
# compile; later, the .d files say which objects include them.
$(OUTPUT)/obj/%.o: src/%.c | $(SKEL) $(PROTO_H) $(OUTPUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/san/%.o: src/%.c | $(SKEL) $(PROTO_H) $(OUTPUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O1 $(SANFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/obj/metrics.pb-c.o: $(PROTO_C) | $(OUTPUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/san/metrics.pb-c.o: $(PROTO_C) | $(OUTPUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O1 $(SANFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/ccproxy_exporter: $(APP_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

# The load generator uses nothing but the public probe header.
$(OUTPUT)/ccproxy-loadgen: $(LOADGEN_SRCS) tools/loadgen/*.h src/probe_notes.h src/files.h \
		include/ccproxy/probes.h | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itools/loadgen $(LOADGEN_SRCS) -lelf -lpthread -lm -o $@

# The .d file adds the headers to the prerequisites: only sources and objects are compiled.
$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(SAN_OBJS) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O1 $(SANFLAGS) $(DEPFLAGS) -MF $@.d -MT $@ $(filter %.c %.o,$^) \
		$(LDLIBS) -lcriterion -o $@

unit: $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t --jobs 2; done

integration: all python $(OUTPUT)/ccproxy-floor
	$(Q)OUTPUT=$(OUTPUT) $(PYTHON) -m pytest -q -p no:cacheprovider tests/python tests/integration

test: unit integration

# A fresh machine: install what the build and the tests need, then run them all.
check:
	$(Q)scripts/install-deps.sh
	$(Q)$(MAKE) --no-print-directory test

install: all
	install -D -m 0755 $(OUTPUT)/ccproxy_exporter $(DESTDIR)$(PREFIX)/bin/ccproxy_exporter
	install -D -m 0755 $(OUTPUT)/ccproxy-loadgen $(DESTDIR)$(PREFIX)/bin/ccproxy-loadgen
	install -D -m 0644 include/ccproxy/probes.h $(DESTDIR)$(PREFIX)/include/ccproxy/probes.h
	install -D -m 0644 docs/probes.md $(DESTDIR)$(PREFIX)/share/doc/ccproxy_exporter/probes.md

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT)

# Optional parts (python extension, demo) bring their own rules.
-include mk/*.mk
-include $(wildcard $(OUTPUT)/*/*.d $(OUTPUT)/*/*/*.d)

# Benchmarks: the empty-program floor is its own skeleton, never part of the exporter.
$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/bench/floor.bpf.o: bench/floor.bpf.c $(VMLINUX) | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I$(dir $(VMLINUX)) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@

$(OUTPUT)/bench/floor.skel.h: $(OUTPUT)/bench/floor.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@

$(OUTPUT)/ccproxy-floor: bench/floor.c $(OUTPUT)/bench/floor.skel.h
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -I$(OUTPUT)/bench $< -lbpf -lelf -lz -o $@

# SPDX-License-Identifier: BSD-2-Clause
# The CPython extension ccproxy_usdt, built against Debian's python3 (not a pyenv one on PATH):
# `make python` leaves an importable package in $(OUTPUT)/python.
PYTHON_CONFIG ?= $(PYTHON)-config
PY_INCLUDES   := $(shell $(PYTHON_CONFIG) --includes 2>/dev/null)
PY_EXT_SUFFIX := $(shell $(PYTHON_CONFIG) --extension-suffix 2>/dev/null)
PY_PKG_DIR    := $(OUTPUT)/python/ccproxy_usdt
PY_SOURCES    := $(wildcard python/ccproxy_usdt/*.py)
PY_EXT        := $(PY_PKG_DIR)/_usdt$(PY_EXT_SUFFIX)
PY_PKG_FILES  := $(patsubst python/ccproxy_usdt/%,$(PY_PKG_DIR)/%,$(PY_SOURCES))

.PHONY: python python-test python-bench

python: $(PY_EXT) $(PY_PKG_FILES)

$(PY_PKG_DIR):
	$(Q)mkdir -p $@

# -fno-semantic-interposition keeps the semaphore loads PC-relative; -fPIC for a shared object.
$(PY_EXT): python/ccproxy_usdt/_usdt.c include/ccproxy/probes.h | $(PY_PKG_DIR)
	$(call msg,PYEXT,$@)
	$(Q)test -n "$(PY_EXT_SUFFIX)" || { echo "$(PYTHON_CONFIG) not found: install python3-dev" >&2; exit 1; }
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -fno-strict-aliasing $(PY_INCLUDES) \
		-shared $< -o $@

$(PY_PKG_DIR)/%.py: python/ccproxy_usdt/%.py | $(PY_PKG_DIR)
	$(call msg,COPY,$@)
	$(Q)cp $< $@

python-test: python
	$(Q)$(PYTHON) -m pytest -q tests/python

python-bench: python
	$(Q)PYTHONPATH=$(OUTPUT)/python $(PYTHON) python/bench/bench_probes.py

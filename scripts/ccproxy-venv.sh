#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Builds (or reuses) the venv with the real ccproxy and our ccproxy-usdt package:
#   scripts/ccproxy-venv.sh [DIR]      default: ${OUTPUT:-build}/ccproxy-venv; prints DIR
# Debian's python3 with --copies, so the venv's interpreter has a path of its own (tests find
# their proxies by it). Versions come from python/ccproxy-requirements.txt; the venv is rebuilt
# when that file changes, and our package is reinstalled when its sources change.
set -eu

cd "$(dirname "$0")/.."
VENV=${1:-${OUTPUT:-build}/ccproxy-venv}
PY=/usr/bin/python3
REQS=python/ccproxy-requirements.txt

sum_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
reqs_sum=$(sum_of "$REQS")
pkg_sum=$(sum_of python/pyproject.toml python/setup.py python/ccproxy_usdt/*.py \
	python/ccproxy_usdt/_usdt.c include/ccproxy/probes.h)

if [ "$(cat "$VENV/.reqs" 2>/dev/null)" != "$reqs_sum" ]; then
	rm -rf "$VENV"
	$PY -m venv --copies "$VENV" >&2
	"$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS" >&2
	echo "$reqs_sum" >"$VENV/.reqs"
fi
if [ "$(cat "$VENV/.pkg" 2>/dev/null)" != "$pkg_sum" ]; then
	"$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps \
		./python >&2
	rm -rf python/build python/*.egg-info
	echo "$pkg_sum" >"$VENV/.pkg"
fi
echo "$VENV"

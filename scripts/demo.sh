#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The demo: the real ccproxy (ccproxy-api 0.2.10 from a pinned venv, with our usdt_metrics
# plugin and its own metrics plugin), the fake Anthropic upstream it is pointed at, light
# traffic, and ccproxy_exporter attached to ccproxy by PID. Nothing leaves loopback.
# Ctrl-C stops everything.
#   DEMO_WORKERS=2 make demo        two ccproxy worker processes, both attached
#   DEMO_PORT, DEMO_UPSTREAM_PORT, DEMO_EXPORTER_ADDR, DEMO_RATE (requests/s) to change them.
set -eu

cd "$(dirname "$0")/.."
PY=/usr/bin/python3
WORKERS=${DEMO_WORKERS:-1}
PORT=${DEMO_PORT:-18080}
UPORT=${DEMO_UPSTREAM_PORT:-18081}
ADDR=${DEMO_EXPORTER_ADDR:-127.0.0.1:10464}
RATE=${DEMO_RATE:-5}
OUT=${OUTPUT:-build}

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: the exporter loads BPF programs: run as root" >&2
	exit 1
fi
scripts/install-deps.sh
make -s all
VENV=$(cd "$(scripts/ccproxy-venv.sh "$OUT/ccproxy-venv")" && pwd)

RUN=$(mktemp -d /tmp/ccproxy-demo.XXXXXX)
pids=""
keep_logs=0
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "demo: stopping"
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	[ "$keep_logs" = 1 ] || rm -rf "$RUN"
}
trap cleanup INT TERM EXIT

wait_http() { # url what
	i=0
	until $PY -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" \
		2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			echo "demo: $2 did not come up; logs kept in $RUN" >&2
			keep_logs=1
			exit 1
		fi
		sleep 0.1
	done
}

$PY tools/fake-llm/fake_upstream.py --port "$UPORT" >"$RUN/upstream.log" 2>&1 &
pids="$pids $!"
wait_http "http://127.0.0.1:$UPORT/health" "the fake upstream"

"$VENV/bin/python3" tools/fake-llm/ccproxy_home.py "$RUN" --port "$PORT" \
	--upstream "http://127.0.0.1:$UPORT" --workers "$WORKERS" \
	--plugin metrics --plugin usdt_metrics
(cd "$RUN" && HOME="$RUN/home" exec "$VENV/bin/ccproxy" serve -c "$RUN/ccproxy.toml") \
	>"$RUN/ccproxy.log" 2>&1 &
ccproxy=$!
pids="$pids $ccproxy"
wait_http "http://127.0.0.1:$PORT/health" "ccproxy"

# The processes that serve requests: ccproxy itself, or its uvicorn workers.
workers() {
	if [ "$WORKERS" -eq 1 ]; then
		echo "$ccproxy"
		return
	fi
	for p in $(pgrep -P "$ccproxy"); do
		grep -q ccproxy_usdt/_usdt "/proc/$p/maps" 2>/dev/null && echo "$p"
	done
}
i=0
while [ "$(workers | wc -l)" -lt "$WORKERS" ]; do
	i=$((i + 1))
	if [ $i -gt 300 ]; then
		echo "demo: ccproxy workers did not start; see $RUN/ccproxy.log" >&2
		keep_logs=1
		exit 1
	fi
	sleep 0.1
done

pidflags=""
for p in $(workers); do
	pidflags="$pidflags --pid $p"
done
# shellcheck disable=SC2086
"$OUT/ccproxy_exporter" $pidflags --web.listen-address "$ADDR" >"$RUN/exporter.log" 2>&1 &
pids="$pids $!"
wait_http "http://$ADDR/metrics/health" "the exporter"

$PY tools/fake-llm/traffic.py --url "http://127.0.0.1:$PORT" --rate "$RATE" \
	>"$RUN/traffic.log" 2>&1 &
pids="$pids $!"

echo "demo: ccproxy http://127.0.0.1:$PORT (attached:$pidflags), upstream http://127.0.0.1:$UPORT"
echo "demo: open http://$ADDR/metrics, or ccproxy's own http://127.0.0.1:$PORT/metrics"
echo "demo: logs in $RUN; Ctrl-C stops everything"
while :; do
	sleep 1
	for p in $pids; do
		if ! kill -0 "$p" 2>/dev/null; then
			echo "demo: process $p exited; logs kept in $RUN" >&2
			keep_logs=1
			exit 1
		fi
	done
done

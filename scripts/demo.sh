#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The demo: fake upstream + demo proxy (Python, USDT probes) + light traffic + ccproxy_exporter
# attached to the proxy by PID. Ctrl-C stops everything.
#   DEMO_WORKERS=2 make demo        two proxy worker processes, both attached
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
make -s all python

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
		if [ $i -gt 100 ]; then
			echo "demo: $2 did not come up; logs kept in $RUN" >&2
			keep_logs=1
			exit 1
		fi
		sleep 0.1
	done
}

$PY examples/demo-proxy/fake_upstream.py --port "$UPORT" >"$RUN/upstream.log" 2>&1 &
pids="$pids $!"
wait_http "http://127.0.0.1:$UPORT/health" "the fake upstream"

PYTHONPATH="$OUT/python" $PY examples/demo-proxy/demo_proxy.py --port "$PORT" \
	--upstream "http://127.0.0.1:$UPORT" --workers "$WORKERS" --pid-dir "$RUN" \
	>"$RUN/proxy.log" 2>&1 &
pids="$pids $!"
wait_http "http://127.0.0.1:$PORT/health" "the demo proxy"
i=0
while [ "$(ls "$RUN" | grep -c '^proxy-.*\.pid$')" -lt "$WORKERS" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "demo: proxy workers did not start; see $RUN/proxy.log" >&2
		keep_logs=1
		exit 1
	fi
	sleep 0.1
done

pidflags=""
for f in "$RUN"/proxy-*.pid; do
	pidflags="$pidflags --pid $(cat "$f")"
done
# shellcheck disable=SC2086
"$OUT/ccproxy_exporter" $pidflags --web.listen-address "$ADDR" >"$RUN/exporter.log" 2>&1 &
pids="$pids $!"
wait_http "http://$ADDR/metrics/health" "the exporter"

$PY examples/demo-proxy/traffic.py --url "http://127.0.0.1:$PORT" --rate "$RATE" \
	>"$RUN/traffic.log" 2>&1 &
pids="$pids $!"

echo "demo: proxy http://127.0.0.1:$PORT (workers:$pidflags), upstream http://127.0.0.1:$UPORT"
echo "demo: open http://$ADDR/metrics   (logs in $RUN; Ctrl-C stops everything)"
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

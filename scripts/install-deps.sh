#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Installs the Debian packages that building, testing and the demo need. Idempotent: does
# nothing when every package is already there.
set -eu

PKGS="make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libmicrohttpd-dev libgnutls28-dev libcrypt-dev libyaml-dev libcriterion-dev systemtap-sdt-dev libcurl4-openssl-dev
protobuf-c-compiler libprotobuf-c-dev
prometheus prometheus-pushgateway bpftrace curl procps util-linux
python3 python3-dev python3-venv python3-pytest python3-prometheus-client
python3-fastapi python3-uvicorn python3-httpx
python3-yaml strace systemd"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

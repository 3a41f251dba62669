#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Regenerates the committed vmlinux.h from the running kernel's BTF. The BPF programs read no
# kernel structs, so any BTF-enabled kernel's header serves; regenerate for a new architecture.
set -eu
arch=$(uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
out="$(dirname "$0")/../vmlinux/$arch/vmlinux.h"
[ -r /sys/kernel/btf/vmlinux ] || { echo "gen-vmlinux: no /sys/kernel/btf/vmlinux (kernel without BTF)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"

# SPDX-License-Identifier: BSD-2-Clause
# ccproxy_exporter image: build on Debian bookworm, run on bookworm-slim.
#   docker build -t ccproxy-exporter:0.1.0 .
# Run it as deploy/kubernetes/daemonset.yaml does (docs/deploying.md, "Docker"): host PID
# namespace, CAP_SYS_ADMIN + CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH, /sys/fs/bpf mounted.
# The BPF object is built against the committed vmlinux/<arch>/vmlinux.h of the build machine's
# architecture (x86 today).

FROM debian:bookworm AS build
# The build packages of scripts/install-deps.sh, without the test and demo ones;
# tests/integration/test_deploy.py keeps the two lists in step. libc6-dev: gcc only recommends it.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        make gcc libc6-dev clang llvm pkg-config bpftool \
        libbpf-dev libelf-dev zlib1g-dev libmicrohttpd-dev libgnutls28-dev libcrypt-dev libyaml-dev \
        systemtap-sdt-dev libcurl4-openssl-dev protobuf-c-compiler libprotobuf-c-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" OUTPUT=/out /out/ccproxy_exporter

FROM debian:bookworm-slim
# The shared libraries of every -dev package above (systemtap-sdt-dev is headers only), and
# the CA certificates an https:// Pushgateway is checked against.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libbpf1 libelf1 zlib1g libmicrohttpd12 libgnutls30 libcrypt1 libyaml-0-2 libcurl4 libprotobuf-c1 \
        ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ccproxy_exporter /usr/local/bin/ccproxy_exporter
# Fails the build here, not on a node, when a shared library is missing.
RUN ["/usr/local/bin/ccproxy_exporter", "--version"]
LABEL org.opencontainers.image.title="ccproxy_exporter" \
      org.opencontainers.image.description="Prometheus exporter for ccproxy, read through USDT probes and BPF" \
      org.opencontainers.image.licenses="BSD-2-Clause" \
      org.opencontainers.image.version="0.1.0"
# uid 0 on purpose: Kubernetes and Docker give a non-root user no ambient capabilities, so the
# capabilities the deployment adds would not be effective under another uid.
USER 0:0
EXPOSE 10464
ENTRYPOINT ["/usr/local/bin/ccproxy_exporter"]

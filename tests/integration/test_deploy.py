# SPDX-License-Identifier: BSD-2-Clause
"""The deployment files: Kubernetes manifests, the Prometheus scrape example, the systemd unit,
the Dockerfile and docs/deploying.md.

Static checks (no root): every manifest parses and has what Kubernetes and Prometheus need,
every flag and PLUGINS__METRICS__* variable they use is one the built exporter accepts, the
Dockerfile's package lists match scripts/install-deps.sh and the binary's shared libraries.
Root checks (real BPF): the documented capability set is enough and each capability in it is
needed; the exporter attaches to a process whose files its own mount namespace hides (the
systemd sandbox); every system call it makes passes the unit's SystemCallFilter.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import EXPORTER, LOADGEN, ROOT, free_port, http_get, require_root, wait_until
import truth as truthlib

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
SCRAPE = DEPLOY / "prometheus" / "kubernetes-scrape.yml"
UNIT = DEPLOY / "systemd" / "ccproxy-exporter.service"
UNIT_DEFAULTS = DEPLOY / "systemd" / "ccproxy-exporter.default"
DOCKERFILE = ROOT / "Dockerfile"
DOCS = ROOT / "docs" / "deploying.md"
INSTALL_DEPS = ROOT / "scripts" / "install-deps.sh"

# The capabilities docs/deploying.md documents, in Kubernetes spelling (no CAP_ prefix).
# CAP_SYS_ADMIN: uprobes (perf_event_open of the uprobe PMU) on kernels with the 2025 fix
# (CVE-2025-38466), which refuse CAP_PERFMON; it also satisfies every CAP_BPF and CAP_PERFMON
# check, so those two would add nothing.
CAPS = {"SYS_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"}
NAMESPACE = "ccproxy-exporter"
PORT = 10464
HEALTH = "/metrics/health"
PIN_ROOT = "/sys/fs/bpf"

# Packages of install-deps.sh that only the tests or the demo need, never the image.
TEST_ONLY_DEV = {"libcriterion-dev", "python3-dev"}
TOOLCHAIN = {"make", "gcc", "clang", "llvm", "pkg-config", "bpftool", "protobuf-c-compiler"}
# The shared-library package of each -dev package of the build stage (None: headers only).
# test_dev_runtime_table_matches_apt checks every entry against the archive's Depends.
DEV_RUNTIME = {
    "libc6-dev": "libc6",
    "libbpf-dev": "libbpf1",
    "libelf-dev": "libelf1",
    "zlib1g-dev": "zlib1g",
    "libmicrohttpd-dev": "libmicrohttpd12",
    "libgnutls28-dev": "libgnutls30",
    "libcrypt-dev": "libcrypt1",
    "libyaml-dev": "libyaml-0-2",
    "libcurl4-openssl-dev": "libcurl4",
    "libprotobuf-c-dev": "libprotobuf-c1",
    "systemtap-sdt-dev": None,
}

# Fields of the Kubernetes v1 API objects used here: a misspelt field is dropped (or refused)
# by the API server, so a typo would silently remove a setting.
POD_SPEC_KEYS = {
    "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "containers",
    "dnsConfig", "dnsPolicy", "enableServiceLinks", "ephemeralContainers", "hostAliases",
    "hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname", "imagePullSecrets",
    "initContainers", "nodeName", "nodeSelector", "os", "overhead", "preemptionPolicy",
    "priority", "priorityClassName", "readinessGates", "resourceClaims", "resources",
    "restartPolicy", "runtimeClassName", "schedulerName", "schedulingGates", "securityContext",
    "serviceAccount", "serviceAccountName", "setHostnameAsFQDN", "shareProcessNamespace",
    "subdomain", "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints",
    "volumes",
}
POD_SECURITY_KEYS = {
    "appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsNonRoot",
    "runAsUser", "seLinuxChangePolicy", "seLinuxOptions", "seccompProfile",
    "supplementalGroups", "supplementalGroupsPolicy", "sysctls", "windowsOptions",
}
CONTAINER_KEYS = {
    "args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle",
    "livenessProbe", "name", "ports", "readinessProbe", "resizePolicy", "resources",
    "restartPolicy", "securityContext", "startupProbe", "stdin", "stdinOnce",
    "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices",
    "volumeMounts", "workingDir",
}
CONTAINER_SECURITY_KEYS = {
    "allowPrivilegeEscalation", "appArmorProfile", "capabilities", "privileged", "procMount",
    "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser", "seLinuxOptions",
    "seccompProfile", "windowsOptions",
}
PROBE_KEYS = {
    "exec", "failureThreshold", "grpc", "httpGet", "initialDelaySeconds", "periodSeconds",
    "successThreshold", "tcpSocket", "terminationGracePeriodSeconds", "timeoutSeconds",
}
MOUNT_KEYS = {"mountPath", "mountPropagation", "name", "readOnly", "recursiveReadOnly",
              "subPath", "subPathExpr"}


# ---------------------------------------------------------------- parsing helpers

def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def manifest_files():
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def objects():
    """(file name, object) for every object of every manifest."""
    return [(p.name, d) for p in manifest_files() for d in load_docs(p)]


def find(kind):
    found = [d for _, d in objects() if d.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container():
    containers = find("DaemonSet")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def makefile_version():
    return re.search(r"^VERSION\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)


def install_deps_packages():
    return set(re.search(r'PKGS="([^"]*)"', INSTALL_DEPS.read_text()).group(1).split())


def dockerfile_instructions():
    """[(stage index, INSTRUCTION, argument text)], continuation lines joined."""
    out, stage, buf = [], -1, ""
    for line in DOCKERFILE.read_text().splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        text = (buf + line).strip()
        buf = ""
        instr, _, arg = text.partition(" ")
        if instr.upper() == "FROM":
            stage += 1
        out.append((stage, instr.upper(), arg.strip()))
    return out


def stage_packages(stage):
    pkgs = set()
    for st, instr, arg in dockerfile_instructions():
        if st != stage or instr != "RUN":
            continue
        for cmd in re.split(r"&&|;", arg):
            words = shlex.split(cmd)
            if "apt-get" in words and "install" in words:
                rest = words[words.index("install") + 1:]
                pkgs |= {w for w in rest if not w.startswith("-")}
    return pkgs


def exec_form_or_shell(arg):
    arg = arg.strip()
    return json.loads(arg) if arg.startswith("[") else shlex.split(arg)


def flags_after_command(words):
    """The --flags given to ccproxy_exporter (or to the image) in a list of shell words."""
    flags, on = [], False
    for w in words:
        if w in ("|", "&&", "||", ";", ">", "2>", "&"):
            on = False
        elif not w.startswith("-") and (os.path.basename(w) == "ccproxy_exporter"
                                        or re.fullmatch(r"\S*ccproxy-exporter:[\w.-]+", w)):
            on = True
        elif on and w.startswith("--"):
            flags.append(w[2:].split("=", 1)[0])
    return flags


def docs_command_lines():
    """Shell lines of docs/deploying.md's code blocks, continuation lines joined."""
    lines, block, buf = [], False, ""
    for line in DOCS.read_text().splitlines():
        if line.lstrip().startswith("```"):
            block = not block
            continue
        if not block:
            continue
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        lines.append(buf + line)
        buf = ""
    return lines


def flag_uses():
    """(where, flag) for every flag passed to the exporter by a deployment file."""
    uses = []
    for name, d in objects():
        for c in d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            for w in c.get("command", []) + c.get("args", []):
                if w.startswith("--"):
                    uses.append((name, w[2:].split("=", 1)[0]))
    for line in UNIT.read_text().splitlines():
        if line.startswith("ExecStart"):
            uses += [(UNIT.name, f) for f in flags_after_command(shlex.split(line.split("=", 1)[1]))]
    for key, value in env_file_assignments(UNIT_DEFAULTS).items():
        if key == "CCPROXY_EXPORTER_ARGS":
            uses += [(UNIT_DEFAULTS.name, w[2:].split("=", 1)[0]) for w in shlex.split(value)
                     if w.startswith("--")]
    for _, instr, arg in dockerfile_instructions():
        if instr in ("ENTRYPOINT", "CMD", "RUN") and "ccproxy_exporter" in arg:
            words = exec_form_or_shell(arg)
            if instr == "CMD":
                words = ["ccproxy_exporter"] + words
            uses += [("Dockerfile", f) for f in flags_after_command(words)]
    if DOCS.exists():
        for line in docs_command_lines():
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                continue
            uses += [(DOCS.name, f) for f in flags_after_command(words)]
    return sorted(set(uses))


def env_file_assignments(path, include_commented=True):
    """NAME=value lines of an EnvironmentFile; commented-out examples too when asked."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if include_commented and re.match(r"#[A-Z_]+=", line):
            line = line[1:]
        m = re.match(r"([A-Z_][A-Z0-9_]*)=(.*)", line)
        if m:
            out[m.group(1)] = " ".join(shlex.split(m.group(2))) if m.group(2) else ""
    return out


def quantity(q):
    """A Kubernetes quantity as a float (cpu cores or bytes)."""
    q = str(q)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix in sorted(units, key=len, reverse=True):
        if q.endswith(suffix):
            return float(q[:-len(suffix)]) * units[suffix]
    return float(q)


def relabel(rules, labels):
    """Prometheus relabel_configs (keep, drop, replace, labeldrop) over a label dict; None if
    the target is dropped."""
    labels = dict(labels)
    for r in rules:
        action = r.get("action", "replace")
        regex = re.compile(r.get("regex", "(.*)"))
        src = r.get("source_labels", [])
        value = r.get("separator", ";").join(labels.get(s, "") for s in src)
        m = regex.fullmatch(value)
        if action == "keep" and not m:
            return None
        if action == "drop" and m:
            return None
        if action == "replace" and m:
            out = m.expand(r.get("replacement", "$1").replace("$1", r"\1") if m.groups()
                           else r.get("replacement", "$1"))
            if out:
                labels[r["target_label"]] = out
            else:
                labels.pop(r["target_label"], None)
        if action == "labeldrop":
            labels = {k: v for k, v in labels.items() if not regex.fullmatch(k)}
    return labels


# ---------------------------------------------------------------- the binary's interface

@pytest.fixture(scope="module")
def help_text():
    r = subprocess.run([EXPORTER, "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def accepted_flags(help_text):
    flags = set()
    for m in re.finditer(r"(?<![\w-])--(\[no-\])?([A-Za-z0-9][A-Za-z0-9._-]*)", help_text):
        flags.add(m.group(2))
        if m.group(1):
            flags.add("no-" + m.group(2))
    return flags


@pytest.fixture(scope="module")
def accepted_env(help_text):
    return set(re.findall(r"env: (PLUGINS__METRICS__[A-Z_]+)", help_text))


@pytest.mark.parametrize("where,flag", flag_uses(), ids=lambda v: str(v))
def test_flag_is_accepted_by_the_exporter(accepted_flags, where, flag):
    assert flag in accepted_flags, f"{where} passes --{flag}, which ccproxy_exporter --help lacks"


def configmap_env():
    return {k: str(v) for k, v in find("ConfigMap")["data"].items()}


def test_env_names_are_known(accepted_env):
    names = set(configmap_env()) | {k for k in env_file_assignments(UNIT_DEFAULTS)
                                    if k.startswith("PLUGINS__")}
    unknown = sorted(names - accepted_env)
    assert not unknown, f"not read by the exporter: {unknown}"


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


@pytest.mark.parametrize("source", ["configmap", "systemd-defaults"])
def test_env_values_are_accepted(source):
    """The exporter exits 2 for a bad flag or environment value; anything else means the
    values parsed (here it then fails for want of the process: exit 1)."""
    env = configmap_env() if source == "configmap" else {
        k: v for k, v in env_file_assignments(UNIT_DEFAULTS).items() if k.startswith("PLUGINS__")}
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    r = subprocess.run([EXPORTER, "--pid", str(dead_pid()), "--web.listen-address",
                        f"127.0.0.1:{free_port()}"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1, (r.returncode, r.stderr)


# ---------------------------------------------------------------- Kubernetes manifests

@pytest.mark.parametrize("path", manifest_files() + [K8S / "kustomization.yaml", SCRAPE],
                         ids=lambda p: p.name)
def test_yaml_parses(path):
    docs = load_docs(path)
    assert docs, f"{path.name} holds no document"
    assert path.read_text().startswith("# SPDX-License-Identifier: ")


def test_objects_have_the_required_fields():
    for name, d in objects():
        assert d.get("apiVersion") and d.get("kind"), name
        meta = d.get("metadata", {})
        assert meta.get("name"), name
        assert meta.get("labels", {}).get("app.kubernetes.io/name") == "ccproxy-exporter", name
        if d["kind"] == "Namespace":
            assert meta["name"] == NAMESPACE
        else:
            assert meta.get("namespace") == NAMESPACE, name


def test_namespace_admits_the_pod():
    """hostPID and added capabilities are refused by the baseline Pod Security level."""
    labels = find("Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def test_kustomization_lists_every_manifest_but_the_podmonitor():
    k = load_docs(K8S / "kustomization.yaml")[0]
    assert k["kind"] == "Kustomization" and k["namespace"] == NAMESPACE
    listed = set(k["resources"])
    for r in listed:
        assert (K8S / r).exists(), r
    want = {p.name for p in manifest_files()} - {"podmonitor.yaml"}
    assert listed == want
    image = container()["image"].rsplit(":", 1)
    assert [i["name"] for i in k["images"]] == [image[0]]
    assert k["images"][0]["newTag"] == image[1]


def test_kustomize_builds():
    kubectl = shutil.which("kubectl") or shutil.which("kustomize")
    if not kubectl:
        pytest.skip("neither kubectl nor kustomize is installed")
    argv = [kubectl, "kustomize", str(K8S)] if kubectl.endswith("kubectl") else [kubectl,
                                                                                 "build", str(K8S)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(r.stdout) if d)
    assert kinds == ["ConfigMap", "DaemonSet", "Namespace", "Service", "ServiceAccount"]


def test_daemonset_pod():
    ds = find("DaemonSet")
    assert ds["apiVersion"] == "apps/v1"
    assert set(ds["spec"]) <= {"minReadySeconds", "revisionHistoryLimit", "selector",
                               "template", "updateStrategy"}
    tmpl = ds["spec"]["template"]
    selector = ds["spec"]["selector"]["matchLabels"]
    assert selector and selector.items() <= tmpl["metadata"]["labels"].items()
    pod = tmpl["spec"]
    assert set(pod) <= POD_SPEC_KEYS, set(pod) - POD_SPEC_KEYS
    assert pod["hostPID"] is True
    assert not pod.get("hostNetwork") and not pod.get("hostIPC")
    assert {"operator": "Exists"} in pod["tolerations"]
    assert pod["serviceAccountName"] == find("ServiceAccount")["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is False
    psc = pod["securityContext"]
    assert set(psc) <= POD_SECURITY_KEYS, set(psc) - POD_SECURITY_KEYS
    # Kubernetes grants no ambient capabilities: the added ones work only for uid 0.
    assert psc["runAsUser"] == 0 and psc.get("runAsNonRoot") is not True


def test_daemonset_container():
    c = container()
    assert set(c) <= CONTAINER_KEYS, set(c) - CONTAINER_KEYS
    name, tag = c["image"].rsplit(":", 1)
    assert name and tag == makefile_version()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": PORT}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if probe == "startupProbe" and probe not in c:
            continue
        p = c[probe]
        assert set(p) <= PROBE_KEYS, (probe, set(p) - PROBE_KEYS)
        assert p["httpGet"]["path"] == HEALTH, probe
        port = p["httpGet"]["port"]
        assert ports.get(port, port) == PORT, probe
    for kind in ("requests", "limits"):
        assert set(c["resources"][kind]) == {"cpu", "memory"}, kind
    for res in ("cpu", "memory"):
        assert quantity(c["resources"]["requests"][res]) <= quantity(c["resources"]["limits"][res])
    refs = [e["configMapRef"]["name"] for e in c["envFrom"]]
    assert refs == [find("ConfigMap")["metadata"]["name"]]


def test_daemonset_capabilities():
    sc = container()["securityContext"]
    assert set(sc) <= CONTAINER_SECURITY_KEYS, set(sc) - CONTAINER_SECURITY_KEYS
    assert sc["capabilities"]["drop"] == ["ALL"]
    added = sc["capabilities"]["add"]
    assert len(added) == len(set(added)) and set(added) == CAPS
    assert sc.get("privileged") is not True
    assert sc["readOnlyRootFilesystem"] is True
    # The API refuses allowPrivilegeEscalation: false with CAP_SYS_ADMIN when spelt with the
    # prefix and treats it as true anyway: setting it would only mislead.
    assert "allowPrivilegeEscalation" not in sc
    assert sc["appArmorProfile"]["type"] == "Unconfined"


def test_daemonset_mounts():
    c = container()
    pod = find("DaemonSet")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for m in mounts.values():
        assert set(m) <= MOUNT_KEYS, set(m) - MOUNT_KEYS
        assert m["name"] in volumes
        assert m.get("mountPropagation", "None") in ("None", "HostToContainer")
    bpffs = mounts[PIN_ROOT]
    assert volumes[bpffs["name"]]["hostPath"]["path"] == PIN_ROOT and not bpffs.get("readOnly")
    btf = mounts["/sys/kernel/btf"]
    assert volumes[btf["name"]]["hostPath"]["path"] == "/sys/kernel/btf" and btf["readOnly"]
    # No tracefs: libbpf makes uprobes with perf_event_open.
    assert not any(p.startswith(("/sys/kernel/tracing", "/sys/kernel/debug")) for p in mounts)
    pins = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--bpf-pin-path=")]
    assert pins and all(p.startswith(PIN_ROOT + "/") for p in pins)


def test_service_is_headless_and_selects_the_pods():
    svc = find("Service")
    pod_labels = find("DaemonSet")["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    (port,) = svc["spec"]["ports"]
    assert port["port"] == PORT and ports.get(port["targetPort"], port["targetPort"]) == PORT


def test_podmonitor_selects_the_pods():
    pm = load_docs(K8S / "podmonitor.yaml")[0]
    assert pm["apiVersion"] == "monitoring.coreos.com/v1" and pm["kind"] == "PodMonitor"
    pod_labels = find("DaemonSet")["spec"]["template"]["metadata"]["labels"]
    assert pm["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    (ep,) = pm["spec"]["podMetricsEndpoints"]
    assert ep["port"] in {p["name"] for p in container()["ports"]}
    assert ep["path"] == "/metrics" and ep.get("honorLabels", False) is False
    rules = [{"action": r.get("action", "replace"), "regex": r.get("regex", "(.*)"),
              "source_labels": r.get("sourceLabels", []),
              "replacement": r.get("replacement", "$1"), "target_label": r.get("targetLabel")}
             for r in ep["relabelings"]]
    got = relabel(rules, {"__meta_kubernetes_pod_node_name": "node-a", "job": "x",
                          "pod": "ccproxy-exporter-abcde", "container": "ccproxy-exporter",
                          "namespace": NAMESPACE, "instance": "10.0.0.7:10464"})
    assert got["job"] == "ccproxy" and got["instance"] == "node-a" and got["node"] == "node-a"
    assert "pod" not in got


def pod_target(labels=None, port_name="metrics", phase="Running"):
    pod_labels = labels if labels is not None else \
        find("DaemonSet")["spec"]["template"]["metadata"]["labels"]
    meta = {"__meta_kubernetes_pod_label_" + re.sub(r"[^A-Za-z0-9_]", "_", k): v
            for k, v in pod_labels.items()}
    meta.update({"__meta_kubernetes_pod_container_port_name": port_name,
                 "__meta_kubernetes_pod_container_port_number": str(PORT),
                 "__meta_kubernetes_pod_node_name": "node-a",
                 "__meta_kubernetes_pod_phase": phase,
                 "__meta_kubernetes_namespace": NAMESPACE,
                 "__address__": f"10.0.0.7:{PORT}", "job": "ccproxy"})
    return meta


def test_scrape_config_finds_the_daemonset_pods():
    (job,) = load_docs(SCRAPE)[0]["scrape_configs"]
    assert job["job_name"] == "ccproxy" and job["honor_labels"] is False
    (sd,) = job["kubernetes_sd_configs"]
    assert sd["role"] == "pod" and sd["namespaces"]["names"] == [NAMESPACE]
    rules = job["relabel_configs"]
    got = relabel(rules, pod_target())
    assert got and got["instance"] == "node-a" and got["node"] == "node-a"
    assert relabel(rules, pod_target(labels={"app": "other"})) is None
    assert relabel(rules, pod_target(port_name="http")) is None
    assert relabel(rules, pod_target(phase="Pending")) is None


def test_scrape_config_passes_promtool(tmp_path):
    """Debian's promtool lacks kubernetes_sd_configs; an upstream one checks the file."""
    if not shutil.which("promtool"):
        pytest.skip("promtool is not installed")
    conf = tmp_path / "prometheus.yml"
    conf.write_text(SCRAPE.read_text())
    r = subprocess.run(["promtool", "check", "config", str(conf)], capture_output=True,
                       text=True, timeout=60)
    if "field kubernetes_sd_configs not found" in r.stdout + r.stderr:
        pytest.skip("this promtool is built without kubernetes_sd_configs")
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- systemd

def unit_settings():
    out = {}
    for line in UNIT.read_text().splitlines():
        m = re.match(r"([A-Za-z]+)=(.*)", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def test_unit_settings():
    s = unit_settings()
    caps = {"CAP_" + c for c in CAPS}
    assert set(s["CapabilityBoundingSet"][0].split()) == caps
    assert set(s["AmbientCapabilities"][0].split()) == caps
    want = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
            "PrivateTmp": "yes", "Restart": "on-failure",
            "EnvironmentFile": "-/etc/default/ccproxy-exporter"}
    for key, value in want.items():
        assert s[key] == [value], key
    assert PIN_ROOT in s["ReadWritePaths"][0].split()
    # Discovery reads every process in /proc.
    assert "ProtectProc" not in s and "ProcSubset" not in s
    exe = shlex.split(s["ExecStart"][0])[0]
    assert exe == "/usr/local/bin/ccproxy_exporter"


def test_unit_verifies(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart is executable: point it at the build.
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/ccproxy_exporter", str(EXPORTER)))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                       capture_output=True, text=True, timeout=60)
    # verify exits 0 on unknown keys and bad values: its messages are the verdict.
    complaints = [ln for ln in (r.stdout + r.stderr).splitlines() if UNIT.name in ln]
    assert r.returncode == 0 and not complaints, r.stdout + r.stderr


# ---------------------------------------------------------------- Dockerfile

def test_dockerfile_stages():
    instrs = dockerfile_instructions()
    froms = [arg for _, i, arg in instrs if i == "FROM"]
    assert froms == ["debian:bookworm AS build", "debian:bookworm-slim"]
    final = [(i, a) for s, i, a in instrs if s == 1]
    assert ("COPY", "--from=build /out/ccproxy_exporter /usr/local/bin/ccproxy_exporter") in final
    assert ("ENTRYPOINT", '["/usr/local/bin/ccproxy_exporter"]') in final
    assert ("EXPOSE", str(PORT)) in final
    label = " ".join(a for i, a in final if i == "LABEL")
    assert f'org.opencontainers.image.version="{makefile_version()}"' in label


def test_build_stage_has_the_build_packages_of_install_deps():
    want = {p for p in install_deps_packages()
            if (p.endswith("-dev") and p not in TEST_ONLY_DEV) or p in TOOLCHAIN}
    missing = sorted(want - stage_packages(0))
    assert not missing, f"install-deps.sh builds with {missing}, the Dockerfile does not"


def test_runtime_stage_has_the_library_of_every_dev_package():
    build, runtime = stage_packages(0), stage_packages(1)
    devs = {p for p in build if p.endswith("-dev")}
    unmapped = sorted(devs - set(DEV_RUNTIME))
    assert not unmapped, f"add the runtime package of {unmapped} to DEV_RUNTIME"
    missing = sorted(DEV_RUNTIME[d] for d in devs if DEV_RUNTIME[d]
                     and DEV_RUNTIME[d] not in runtime and not essential(DEV_RUNTIME[d]))
    assert not missing, f"the runtime stage lacks {missing}"


def apt_field(pkg, field):
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg], capture_output=True,
                       text=True, timeout=60)
    m = re.search(rf"^{field}: (.*)$", r.stdout, re.M)
    return m.group(1) if m else None


_ESSENTIAL = None


def essential(pkg):
    """In every Debian image, debian:bookworm-slim included: the Essential packages and what
    they depend on (libc6, libgcc-s1, zlib1g, libcrypt1, ...)."""
    global _ESSENTIAL
    if _ESSENTIAL is None:
        _ESSENTIAL = {"libc6", "libgcc-s1"}
        if shutil.which("apt-cache") and shutil.which("dpkg-query"):
            ess = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Essential}\\n"],
                                 capture_output=True, text=True).stdout
            names = [ln.split()[0] for ln in ess.splitlines() if ln.endswith(" yes")]
            deps = subprocess.run(["apt-cache", "depends", "--recurse", "--important", *names],
                                  capture_output=True, text=True, timeout=120).stdout
            _ESSENTIAL |= {ln.strip() for ln in deps.splitlines() if re.match(r"[a-z0-9]", ln)}
    return pkg in _ESSENTIAL


def require_apt_lists():
    if not shutil.which("apt-cache") or subprocess.run(
            ["apt-cache", "show", "libc6"], capture_output=True).returncode != 0:
        pytest.skip("no apt package lists (run apt-get update)")


def test_dev_runtime_table_matches_apt():
    require_apt_lists()
    for dev, lib in DEV_RUNTIME.items():
        if lib is None:
            continue
        depends = apt_field(dev, "Depends") or ""
        names = {d.strip().split()[0] for alt in depends.split(",") for d in alt.split("|")}
        assert lib in names, f"{dev} does not depend on {lib}: {depends}"


def test_dockerfile_packages_exist_in_the_archive():
    require_apt_lists()
    for pkg in sorted(stage_packages(0) | stage_packages(1)):
        assert apt_field(pkg, "Package") == pkg, f"no package {pkg} in this machine's archive"


def test_runtime_stage_has_every_library_the_binary_needs():
    """DT_NEEDED of the built exporter -> the package owning each library -> runtime stage."""
    readelf = subprocess.run(["readelf", "-d", EXPORTER], capture_output=True, text=True)
    assert readelf.returncode == 0, readelf.stderr
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf.stdout)
    if any(n.startswith(("libasan", "libubsan")) for n in needed):
        pytest.skip("a sanitizer build (SAN=1): the image ships the plain build")
    ldd = subprocess.run(["ldd", EXPORTER], capture_output=True, text=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    runtime = stage_packages(1)
    for soname in needed:
        path = os.path.realpath(paths[soname])
        owner = None
        for candidate in (path, path.replace("/usr/lib/", "/lib/", 1),
                          path.replace("/lib/", "/usr/lib/", 1)):
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0]
                break
        assert owner, f"no package owns {path} ({soname})"
        assert owner in runtime or essential(owner), f"{soname} comes from {owner}"


def test_build_stage_commands_build_the_exporter(tmp_path):
    """The build stage's own commands, run on this (bookworm) machine on a copy of the build
    context: what `docker build` would do, short of the image."""
    ignore = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]

    def ignored(directory, names):
        rel = Path(directory).relative_to(ROOT)
        out = set()
        for n in names:
            path = str(rel / n) if str(rel) != "." else n
            for pat in ignore:
                bare = pat[3:] if pat.startswith("**/") else pat
                if Path(path).match(pat) or (pat.startswith("**/") and Path(n).match(bare)):
                    out.add(n)
        return out

    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=ignored, symlinks=True)
    assert not (src / "build").exists() and not (src / ".git").exists()
    out = tmp_path / "out"
    runs = [a for s, i, a in dockerfile_instructions() if s == 0 and i == "RUN"
            and "apt-get" not in a]
    assert runs, "no build command in the build stage"
    for cmd in runs:
        r = subprocess.run(["sh", "-c", cmd.replace("/out", str(out))], cwd=src,
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = subprocess.run([out / "ccproxy_exporter", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and makefile_version() in r.stdout + r.stderr


def test_versions_agree():
    version = makefile_version()
    assert container()["image"].endswith(":" + version)
    assert load_docs(K8S / "kustomization.yaml")[0]["images"][0]["newTag"] == version


# ---------------------------------------------------------------- docs

def test_docs_cover_the_capabilities():
    text = DOCS.read_text()
    for cap in CAPS | {"BPF", "PERFMON", "SYS_RESOURCE"}:
        assert f"CAP_{cap}" in text, cap
    for needle in ("privileged: true", "--per-process-labels", "--bpf-pin-path",
                   "deploy/kubernetes", "deploy/systemd", "docker run"):
        assert needle in text, needle


# ---------------------------------------------------------------- root: the capabilities at work

NOBODY = 65534


@pytest.fixture
def private_dir():
    """A directory only nobody can enter; its ancestors (/tmp) are open to everyone, unlike
    pytest's tmp_path."""
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="ccproxy-deploy-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def private_loadgen(d, *args):
    """ccproxy-loadgen run by nobody from a directory only nobody can enter: reaching its
    files takes CAP_DAC_READ_SEARCH, its /proc/PID/maps CAP_SYS_PTRACE."""
    shutil.copy(LOADGEN, d / "ccproxy-loadgen")
    os.chown(d / "ccproxy-loadgen", NOBODY, NOBODY)
    os.chown(d, NOBODY, NOBODY)
    os.chmod(d, 0o700)
    truth = d / "truth.json"
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
            d / "ccproxy-loadgen", "--wait-attach", "30", "--linger", "--truth", truth, *args]
    return argv, truth


def with_caps(caps, argv):
    """argv as a container with exactly these capabilities runs it: uid 0, bounding set =
    the capabilities, no inheritable ones, no_new_privs."""
    bounding = ",".join(["-all"] + ["+" + c.lower() for c in sorted(caps)])
    return ["setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", "--no-new-privs", "--",
            *argv]


def require_setpriv():
    require_root()
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is not installed")


ROOMY = ["--limits.requests", "16384", "--limits.errors", "8192", "--limits.usage", "4096"]


def serve(procs, argv, port):
    p = procs.start(argv)

    def serving():
        if p.poll() is not None:
            raise AssertionError(f"exporter exited {p.returncode}: {p.stderr.read().decode()}")
        try:
            return http_get(port, HEALTH, timeout=1)[0] == 200
        except OSError:
            return False

    wait_until(serving, timeout=30, what="the exporter to serve")
    return p


def wait_done(lg, truth):
    def done():
        if lg.poll() is not None:
            raise AssertionError(f"loadgen exited {lg.returncode}: {lg.stderr.read().decode()}")
        return truth.exists() and truth.read_text().rstrip().endswith("}")
    wait_until(done, timeout=120, step=0.05, what="the load generator to finish")


def scrape_equals_truth(port, truth):
    status, _, body = http_get(port)
    assert status == 200
    mismatches = truthlib.compare(json.loads(truth.read_text()),
                                  truthlib.parse_exposition(body.decode()))
    assert not mismatches, "\n".join(mismatches[:20])


def test_documented_capabilities_suffice(procs, private_dir):
    """Exactly the DaemonSet's capabilities, in a mount namespace where the target's directory
    is hidden under a tmpfs (as ProtectHome= and PrivateTmp= hide /home and /tmp): the
    exporter reaches the files through /proc/PID/root and counts every event."""
    require_setpriv()
    caps = set(container()["securityContext"]["capabilities"]["add"])
    d = private_dir
    lg_argv, truth = private_loadgen(d, "--events", "20000", "--threads", "2", "--seed", "11",
                                     "--leave-active", "2")
    lg = procs.start(lg_argv)
    port = free_port()
    inner = with_caps(caps, [EXPORTER, "--pid", str(lg.pid), "--web.listen-address",
                             f"127.0.0.1:{port}", *ROOMY])
    hide = f"mount -t tmpfs -o mode=0755 tmpfs {shlex.quote(str(d))} && exec \"$@\""
    serve(procs, ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", hide,
                  "sh", *inner], port)
    wait_done(lg, truth)
    scrape_equals_truth(port, truth)


@pytest.mark.parametrize("cap", sorted(CAPS))
def test_each_documented_capability_is_needed(procs, private_dir, cap):
    require_setpriv()
    lg_argv, _ = private_loadgen(private_dir, "--events", "1000", "--threads", "1", "--seed", "3")
    lg = procs.start(lg_argv)
    time.sleep(0.2)
    argv = with_caps(CAPS - {cap}, [EXPORTER, "--pid", str(lg.pid), "--web.listen-address",
                                    f"127.0.0.1:{free_port()}"])
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "level=error msg=\"failed to " in r.stderr, r.stderr


def filter_syscalls(spec):
    """The system calls a SystemCallFilter= allow list admits, groups expanded."""
    allowed = set()

    def expand(item):
        if not item.startswith("@"):
            allowed.add(item)
            return
        out = subprocess.run(["systemd-analyze", "syscall-filter", item], capture_output=True,
                             text=True, timeout=30).stdout
        for line in out.splitlines()[1:]:
            word = line.split("#")[0].strip()
            if word:
                expand(word)

    for item in spec.split():
        expand(item)
    return allowed


def test_unit_syscall_filter_admits_the_exporter(procs, tmp_path):
    """Every system call of an attach, scrapes of every endpoint and a clean exit, traced,
    is in the unit's SystemCallFilter=, and every socket family in RestrictAddressFamilies=
    (a call outside would fail with EPERM under systemd)."""
    require_root()
    for tool in ("strace", "systemd-analyze"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    lg = procs.start([LOADGEN, "--events", "5000", "--threads", "2", "--seed", "5",
                      "--wait-attach", "30", "--linger"])
    port = free_port()
    trace = tmp_path / "strace.txt"
    tracer = serve(procs, ["strace", "-f", "-qq", "-o", trace, EXPORTER, "--pid", str(lg.pid),
                           "--web.listen-address", f"127.0.0.1:{port}"], port)
    for path, headers in (("/metrics", {}), ("/metrics", {"Accept-Encoding": "gzip"}),
                          (HEALTH, {}), ("/", {}), ("/nope", {})):
        http_get(port, path, headers=headers)
    # strace forwards the signal; detaching uprobes under ptrace takes a while.
    exporter_pid = int(re.match(r"(\d+)", trace.read_text()).group(1))
    os.kill(exporter_pid, signal.SIGTERM)
    tracer.communicate(timeout=120)
    calls, families = set(), set()
    for line in trace.read_text().splitlines():
        m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z_0-9]+)(?:\(| resumed>)", line)
        if m:
            calls.add(m.group(1))
        families |= set(re.findall(r"socket\((AF_[A-Z0-9]+)", line))
    assert "bpf" in calls and "perf_event_open" in calls, "the trace saw no attach"
    s = unit_settings()
    allowed = filter_syscalls(s["SystemCallFilter"][0])
    assert calls <= allowed, sorted(calls - allowed)
    assert families <= set(s["RestrictAddressFamilies"][0].split()), families


def test_daemonset_args_discover_and_pin(procs, private_dir, tmp_path, accepted_flags):
    """The DaemonSet's own args and capabilities, without --pid: the exporter finds the load
    generator (run by nobody, from a 0700 directory), counts it exactly and pins its maps on a
    bpffs. The pin path moves to a private bpffs, the listen address to a free port, and
    --match-exe keeps other tests' processes out."""
    require_setpriv()
    if not {"bpf-pin-path", "match-exe"} <= accepted_flags:
        pytest.skip("this build has no discovery (test_flag_is_accepted_by_the_exporter fails)")
    c = container()
    bpffs = tmp_path / "bpffs"
    bpffs.mkdir()
    subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], check=True)
    try:
        lg_argv, truth = private_loadgen(private_dir, "--events", "20000", "--threads", "2",
                                         "--seed", "13")
        lg = procs.start(lg_argv)
        port = free_port()
        args = []
        for a in c["args"]:
            if a.startswith("--bpf-pin-path="):
                a = "--bpf-pin-path=" + str(bpffs / Path(a.split("=", 1)[1]).name)
            elif a.startswith("--web.listen-address="):
                a = f"--web.listen-address=127.0.0.1:{port}"
            args.append(a)
        args += ["--match-exe", "^" + re.escape(str(private_dir)) + "/", *ROOMY]
        caps = set(c["securityContext"]["capabilities"]["add"])
        ex = serve(procs, with_caps(caps, [EXPORTER, *args]), port)
        wait_done(lg, truth)
        scrape_equals_truth(port, truth)
        pins = [p for p in bpffs.rglob("*") if p.is_file()]
        assert pins, "nothing pinned under --bpf-pin-path"
        ex.send_signal(signal.SIGTERM)
        ex.communicate(timeout=60)
        assert ex.returncode == 0
    finally:
        procs.stop_all()
        subprocess.run(["umount", bpffs])

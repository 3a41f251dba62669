# SPDX-License-Identifier: BSD-2-Clause
"""The ccproxy-usdt distribution: an sdist and a wheel build from python/, install into a
fresh venv, carry the ccproxy probe notes and register the ccproxy plugin."""
import re
import subprocess
import sys
import zipfile

import pytest
from ccproxy_real import venv
from conftest import ROOT

PROBES = 16


def run(*argv, **kw):
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True,
                          **kw)


def probe_notes(path):
    notes = run("readelf", "-n", path).stdout
    return re.findall(r"Provider: ccproxy\s+Name: (\w+)", notes)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(sdist, wheel): the sdist through setuptools' PEP 517 hook, the wheel by pip (in an
    isolated build environment with the pinned setuptools of pyproject.toml)."""
    out = tmp_path_factory.mktemp("dist")
    env = venv()
    hook = "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))"
    sdist = run(env / "bin" / "python3", "-c", hook, out, cwd=ROOT / "python").stdout.split()[-1]
    run(env / "bin" / "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT / "python")
    subprocess.run(["rm", "-rf", "build", "ccproxy_usdt.egg-info"], cwd=ROOT / "python")
    return out / sdist, next(out.glob("ccproxy_usdt-*.whl"))


def test_wheel_has_the_extension_the_notes_and_the_entry_point(built, tmp_path):
    _, wheel = built
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        so = [n for n in names if re.match(r"ccproxy_usdt/_usdt.*\.so$", n)]
        assert len(so) == 1, names
        entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        text = z.read(entry).decode()
        assert "[ccproxy.plugins]" in text
        assert "usdt_metrics = ccproxy_usdt.plugin:factory" in text
        z.extract(so[0], tmp_path)
    assert len(probe_notes(tmp_path / so[0])) == PROBES


def test_sdist_installs_into_a_fresh_venv(built, tmp_path):
    """The sdist carries probes.h (no path outside python/ is needed) and builds there."""
    sdist, _ = built
    fresh = tmp_path / "venv"
    run(sys.executable, "-m", "venv", fresh)
    run(fresh / "bin" / "pip", "install", "-q", "--no-deps", sdist)
    so = next((fresh / "lib").glob("python3*/site-packages/ccproxy_usdt/_usdt*.so"))
    assert len(probe_notes(so)) == PROBES
    out = run(fresh / "bin" / "python3", "-c",
              "import ccproxy_usdt; print(len(ccproxy_usdt.PROBES), ccproxy_usdt.ABI_VERSION)")
    assert out.stdout.split() == [str(PROBES), "1"]

# SPDX-License-Identifier: BSD-2-Clause
"""Helpers of the pure-Python tests: the package's pure modules loaded from python/ without
running its __init__ (which needs the C extension), and a recording stand-in for the probe
module."""
import importlib
import json
import os
import pathlib
import subprocess
import sys
import types

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).parent))


# A package of another name: `import ccproxy_usdt` elsewhere in the same run (the integration
# tests) must still find the real one, extension included.
PURE = "ccproxy_usdt_pure"


def exported_table():
    """The exporter's family table and probe list (--print-families json): the one source."""
    exe = ROOT / os.environ.get("OUTPUT", "build") / "ccproxy_exporter"
    out = subprocess.run([str(exe), "--print-families", "json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def _pure_package():
    pkg = types.ModuleType(PURE)
    pkg.__path__ = [str(ROOT / "python/ccproxy_usdt")]
    sys.modules.setdefault(PURE, pkg)
    # The extension's constants, as probes.h defines them, without the extension.
    ext = types.ModuleType(PURE + "._usdt")
    ext.PROBES = tuple(exported_table()["probes"])
    sys.modules.setdefault(PURE + "._usdt", ext)


_pure_package()
plugin = importlib.import_module(PURE + ".hook")
usage = importlib.import_module(PURE + ".usage")
pool = importlib.import_module(PURE + ".pool")
middleware = importlib.import_module(PURE + ".middleware")
routes = importlib.import_module(PURE + ".routes")


class Recorder:
    """Stands for the ccproxy_usdt module: records every probe call."""

    def __init__(self, mask=(1 << len(plugin.PROBES)) - 1):
        self.mask = mask
        self.calls = []

    def enabled_mask(self):
        return self.mask

    def __getattr__(self, name):
        if name not in plugin.PROBES:
            raise AttributeError(name)

        def probe(*args, **kwargs):
            self.calls.append((name, args, kwargs))

        return probe

    def names(self):
        return [c[0] for c in self.calls]

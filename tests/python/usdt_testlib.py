# SPDX-License-Identifier: BSD-2-Clause
"""Helpers of the pure-Python tests: the adapter loaded from python/ by path (no C extension)
and a recording stand-in for the probe module."""
import importlib.util
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).parent))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


plugin = _load("ccproxy_plugin", ROOT / "python/ccproxy_usdt/ccproxy_plugin.py")


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

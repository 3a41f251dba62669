# SPDX-License-Identifier: BSD-2-Clause
"""Which ccproxy provider plugin serves a route path, from the plugins' own route prefixes.

ccproxy 0.2.10 names the provider of a request on provider.request.prepared only, and its
codex plugin never emits that event: its streams and its buffered answers go straight to the
upstream HTTP client, whose events name no provider, and its stream events say "access_log"
(docs/ccproxy.md). What does name it is ccproxy's routing: each provider plugin mounts its
routers under a prefix of its own ("/codex" for codex, "/claude" for claude_api), listed in
its manifest. The plugin reads those prefixes once; the hook asks for the provider of a
request's route path when no event told it.
"""
from __future__ import annotations

from typing import Any, Iterable


class RouteServices:
    """Route prefix -> provider plugin name; the longest prefix that matches on a path
    segment boundary wins ("/codex" serves "/codex/v1/responses", not "/codexfoo")."""

    def __init__(self, prefixes: Iterable[tuple[str, str]] = ()) -> None:
        by_prefix: dict = {}
        for prefix, name in prefixes:
            if isinstance(prefix, str) and isinstance(name, str) and name:
                prefix = "/" + prefix.strip("/")
                if prefix != "/":
                    by_prefix.setdefault(prefix, name.replace("-", "_"))
        # Longest first: "/copilot/v1" before "/copilot".
        self._prefixes = sorted(by_prefix.items(), key=lambda kv: -len(kv[0]))

    def __bool__(self) -> bool:
        return bool(self._prefixes)

    def lookup(self, path: Any) -> str | None:
        if not isinstance(path, str) or not path:
            return None
        for prefix, name in self._prefixes:
            if path.startswith(prefix) and (len(path) == len(prefix)
                                            or path[len(prefix)] == "/"):
                return name
        return None


def provider_prefixes(registry: Any) -> list[tuple[str, str]]:
    """(prefix, plugin name) of every route of every provider plugin in ccproxy's plugin
    registry (its ``factories``, each with a manifest of ``routes``); [] when unreadable."""
    out = []
    try:
        factories = dict(getattr(registry, "factories", None) or {})
    except Exception:
        return out
    for name, factory in factories.items():
        try:
            manifest = factory.get_manifest()
            if not getattr(manifest, "is_provider", False):
                continue
            for route in getattr(manifest, "routes", None) or ():
                out.append((getattr(route, "prefix", None), getattr(manifest, "name", name)))
        except Exception:
            continue
    return out

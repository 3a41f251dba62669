# SPDX-License-Identifier: BSD-2-Clause
"""The ccproxy plugin ``usdt_metrics``: fires the ccproxy USDT probes from inside ccproxy.

ccproxy finds it through the ``ccproxy.plugins`` entry point of this distribution. Enabled like
ccproxy's own plugins (listed in ``enabled_plugins`` when that list is set), configured in
``[plugins.usdt_metrics]`` or ``PLUGINS__USDT_METRICS__<FIELD>``:

- ``enabled`` (true): register the hook at all.
- ``announce_interval`` (1.0 s): how often the state probes (info, pool gauges) fire again,
  so that an exporter attached later learns them. 0 turns the repetition off.
- ``instrument_pool`` (true): feed the pool_* probes from ccproxy's HTTPPoolManager.
- ``inline_hooks`` (true): fire the probes where ccproxy emits an event rather than later on
  its hook thread (ccproxy_usdt.inline): the latency families need the event's own moment.

Nothing here imports prometheus_client, and nothing raises into ccproxy: the hook counts what
it drops (``UsdtMetricsHook.dropped``) and the pool instrumentation does the same.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ccproxy.core.logging import get_plugin_logger
from ccproxy.core.plugins import (
    MiddlewareSpec,
    PluginManifest,
    SystemPluginFactory,
    SystemPluginRuntime,
)
from ccproxy.core.plugins.hooks import HookRegistry
from ccproxy.core.plugins.hooks.events import HookEvent
from pydantic import BaseModel, Field

from .hook import UsdtMetricsHook
from .inline import InlineDispatch
from .middleware import HookTarget, RequestEndMiddleware
from .pool import PoolInstrument
from .routes import RouteServices, provider_prefixes

PLUGIN_NAME = "usdt_metrics"
logger = get_plugin_logger()


class UsdtMetricsConfig(BaseModel):
    """Settings of the usdt_metrics plugin ([plugins.usdt_metrics])."""

    enabled: bool = Field(default=True, description="Fire the ccproxy USDT probes")
    announce_interval: float = Field(
        default=1.0, ge=0.0, le=3600.0,
        description="Seconds between re-announcements of info and pool gauges (0: off)")
    instrument_pool: bool = Field(
        default=True, description="Feed the pool probes from ccproxy's HTTP pool manager")
    inline_hooks: bool = Field(
        default=True,
        description="Fire the probes when ccproxy emits an event, not on its hook thread")


def _ccproxy_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("ccproxy-api")
    except Exception:
        return None


class UsdtMetricsRuntime(SystemPluginRuntime):
    """Registers the probe hook, instruments the HTTP pool, announces state periodically."""

    def __init__(self, manifest: PluginManifest, target: HookTarget):
        super().__init__(manifest)
        self.target = target
        self.config = UsdtMetricsConfig()
        self.hook: UsdtMetricsHook | None = None
        self.pool: PoolInstrument | None = None
        self.inline: InlineDispatch | None = None
        self._registry: HookRegistry | None = None
        self._announcer: asyncio.Task | None = None
        self._pricing: Any = None

    async def _on_initialize(self) -> None:
        config = self.context.get("config") if self.context else None
        if isinstance(config, UsdtMetricsConfig):
            self.config = config
        if not self.config.enabled:
            logger.debug("usdt_metrics_disabled")
            return
        self.hook = UsdtMetricsHook(version=_ccproxy_version(), hook_event=HookEvent,
                                    pricer=self._price)
        self._registry = self._hook_registry()
        if self._registry is None:
            logger.warning("usdt_metrics_no_hook_registry")
            return
        self._registry.register(self.hook)
        self.target.hook = self.hook
        self.hook.routes = RouteServices(provider_prefixes(self._plugin_registry()))
        if self.config.inline_hooks:
            inline = InlineDispatch(self.hook)
            if inline.attach(self._background_manager()):
                self.inline = inline
        if self.config.instrument_pool:
            manager = self.context.get("http_pool_manager")
            if manager is not None:
                self.pool = PoolInstrument(self.hook.probes)
                self.pool.attach(manager)
                self.hook.pool = self.pool
        self.hook.announce()
        if self.config.announce_interval > 0:
            self._announcer = asyncio.create_task(self._announce_loop())
        logger.info("usdt_metrics_ready", pool=self.pool is not None,
                    inline_hooks=self.inline is not None,
                    announce_interval=self.config.announce_interval)

    def _background_manager(self) -> Any:
        """The thread manager ccproxy's hook manager queues fire-and-forget events to."""
        manager = self.context.get("hook_manager")
        if manager is None:
            app = self.context.get("app")
            manager = getattr(getattr(app, "state", None), "hook_manager", None)
        return getattr(manager, "_background_manager", None)

    def _pricing_service(self) -> Any:
        """ccproxy's pricing service, found once (it may start after us). In 0.2.10 the
        pricing plugin never gets to register it (its context has no plugin_registry), so it
        is also looked up on its runtime."""
        if self._pricing is None:
            self._pricing = self._find_pricing_service()
        return self._pricing

    def _plugin_registry(self) -> Any:
        registry = self.context.get("plugin_registry") if self.context else None
        if registry is None and self.context:
            app = self.context.get("app")
            registry = getattr(getattr(app, "state", None), "plugin_registry", None)
        return registry

    def _find_pricing_service(self) -> Any:
        registry = self._plugin_registry()
        if registry is None:
            return None
        service = registry.get_service("pricing")
        if service is None:
            service = getattr(registry.get_runtime("pricing"), "service", None)
        return service

    def _price(self, model: str, usage: dict) -> float | None:
        """Cost of a request by ccproxy's pricing service; None when there is none, it has no
        data, or it does not know the model."""
        try:
            service = self._pricing_service()
            if service is None:
                return None
            return float(service.calculate_cost_sync(
                model_name=model,
                input_tokens=usage.get("input_tokens", 0),
                output_tokens=usage.get("output_tokens", 0),
                cache_read_tokens=usage.get("cache_read_tokens", 0),
                cache_write_tokens=usage.get("cache_write_tokens", 0)))
        except Exception:
            return None

    def _hook_registry(self) -> HookRegistry | None:
        registry = self.context.get("hook_registry")
        if registry is None:
            app = self.context.get("app")
            registry = getattr(getattr(app, "state", None), "hook_registry", None)
        return registry if isinstance(registry, HookRegistry) else None

    async def _announce_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.announce_interval)
            if self.hook is not None:
                self.hook.announce()

    async def _on_shutdown(self) -> None:
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._announcer
            self._announcer = None
        if self.pool is not None:
            self.pool.detach()
        if self.inline is not None:
            self.inline.detach()
            self.inline = None
        self.target.hook = None
        if self._registry is not None and self.hook is not None:
            self._registry.unregister(self.hook)

    async def _get_health_details(self) -> dict[str, Any]:
        return {
            "type": "system",
            "initialized": self.initialized,
            "enabled": self.config.enabled,
            "probes_dropped": self.hook.dropped if self.hook else 0,
            "pool_instrumented": self.pool is not None,
            "inline_hooks": self.inline is not None,
            "provider_routes": bool(self.hook and self.hook.routes),
            "pool_dropped": self.pool.dropped if self.pool else 0,
        }


# Below ccproxy's own (RequestIDMiddleware is at 50): the outermost layer, so that its end
# of a request comes after everything ccproxy does with it.
_OUTERMOST = 0


class UsdtMetricsFactory(SystemPluginFactory):
    def __init__(self) -> None:
        self.target = HookTarget()
        super().__init__(PluginManifest(
            name=PLUGIN_NAME,
            version="0.1.0",
            description="ccproxy metrics as USDT probes, read by ccproxy_exporter",
            is_provider=False,
            config_class=UsdtMetricsConfig,
            middleware=[MiddlewareSpec(RequestEndMiddleware, priority=_OUTERMOST,
                                       kwargs={"target": self.target})],
        ))

    def create_runtime(self) -> UsdtMetricsRuntime:
        return UsdtMetricsRuntime(self.manifest, self.target)


factory = UsdtMetricsFactory()

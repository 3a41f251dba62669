# SPDX-License-Identifier: BSD-2-Clause
"""STAND-INS for ccproxy's HookEvent and HookContext (ccproxy itself cannot be installed here).

Shaped as /work/shared/spec/ccproxy-reference.md section 2 describes them: HookEvent is a str
enum with the dotted values; HookContext carries event, timestamp, data, metadata, request,
response, provider, plugin, error. These are test doubles, not ccproxy code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any


class HookEvent(str, Enum):
    """STAND-IN for ccproxy's HookEvent."""

    APP_STARTUP = "app.startup"
    APP_SHUTDOWN = "app.shutdown"
    APP_READY = "app.ready"
    REQUEST_STARTED = "request.started"
    REQUEST_COMPLETED = "request.completed"
    REQUEST_FAILED = "request.failed"
    PROVIDER_REQUEST_PREPARED = "provider.request.prepared"
    PROVIDER_REQUEST_SENT = "provider.request.sent"
    PROVIDER_RESPONSE_RECEIVED = "provider.response.received"
    PROVIDER_ERROR = "provider.error"
    PROVIDER_STREAM_START = "provider.stream.start"
    PROVIDER_STREAM_CHUNK = "provider.stream.chunk"
    PROVIDER_STREAM_END = "provider.stream.end"
    HTTP_REQUEST = "http.request"
    HTTP_RESPONSE = "http.response"
    HTTP_ERROR = "http.error"
    CUSTOM_EVENT = "custom.event"


@dataclass
class HookContext:
    """STAND-IN for ccproxy's HookContext."""

    event: HookEvent
    timestamp: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    request: Any = None
    response: Any = None
    provider: str | None = None
    plugin: str | None = None
    error: Exception | None = None

"""Where OTLP export sends spans: the standard ``OTEL_EXPORTER_OTLP_*`` variables, read by the
exporter's own rules (the traces-specific variable first, then the generic one)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
HEADERS_ENV = "OTEL_EXPORTER_OTLP_HEADERS"
TRACES_HEADERS_ENV = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
TIMEOUT_ENV = "OTEL_EXPORTER_OTLP_TIMEOUT"
TRACES_TIMEOUT_ENV = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"

DEFAULT_EXPORT_TIMEOUT_S = 5.0
"""Per export request (retries included). The SDK's default, 10 s, is long for a shutdown."""


def otlp_endpoint_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """True when an OTLP endpoint is set (non-empty): export is opt-in, off by default."""
    return any((environ.get(name) or "").strip() for name in (ENDPOINT_ENV, TRACES_ENDPOINT_ENV))


def traces_endpoint(environ: Mapping[str, str] = os.environ) -> str | None:
    """The URL spans are posted to, by the exporter's own rule: the traces-specific variable is
    used as it is; the generic one gets ``/v1/traces`` appended."""
    specific = (environ.get(TRACES_ENDPOINT_ENV) or "").strip()
    if specific:
        return specific
    generic = (environ.get(ENDPOINT_ENV) or "").strip()
    return f"{generic.removesuffix('/')}/v1/traces" if generic else None


def export_timeout(environ: Mapping[str, str]) -> float:
    """Seconds per export request: the traces-specific variable, the generic one, or 5."""
    raw = (environ.get(TRACES_TIMEOUT_ENV) or environ.get(TIMEOUT_ENV) or "").strip()
    try:
        return float(raw) if raw else DEFAULT_EXPORT_TIMEOUT_S
    except ValueError:
        logger.warning("ignoring %s=%r: not a number of seconds", TIMEOUT_ENV, raw)
        return DEFAULT_EXPORT_TIMEOUT_S


def printable(url: str) -> str:
    """An endpoint for the log: no user info, no query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"

"""The Bifrost batch API: models and an async client. No Textual here.

The names below are imported when first used (PEP 562), so a command that needs only a
light part of this package (the parser reads ``tui.api.dialects``) does not pay for httpx
and pydantic at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.api.client import BatchListing, BifrostClient, batch_path, parse_retry_after
    from tui.api.errors import (
        GatewayError,
        GatewayHTTPError,
        GatewayResponseError,
        GatewayTimeout,
        GatewayUnreachable,
    )
    from tui.api.models import (
        FINISHED_STATUSES,
        KNOWN_STATUSES,
        LIVE_STATUSES,
        Batch,
        BatchKey,
        BatchPage,
        GatewayErrorBody,
        RequestCounts,
        batch_key,
        key_origin,
        status_is_finished,
    )
    from tui.api.providers import KNOWN_PROVIDERS

_HOME = {
    **dict.fromkeys(("BatchListing", "BifrostClient", "batch_path", "parse_retry_after"), "tui.api.client"),
    **dict.fromkeys(
        ("GatewayError", "GatewayHTTPError", "GatewayResponseError", "GatewayTimeout", "GatewayUnreachable"),
        "tui.api.errors",
    ),
    **dict.fromkeys(
        (
            "FINISHED_STATUSES",
            "KNOWN_STATUSES",
            "LIVE_STATUSES",
            "Batch",
            "BatchKey",
            "BatchPage",
            "GatewayErrorBody",
            "RequestCounts",
            "batch_key",
            "key_origin",
            "status_is_finished",
        ),
        "tui.api.models",
    ),
    "KNOWN_PROVIDERS": "tui.api.providers",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "FINISHED_STATUSES",
    "KNOWN_PROVIDERS",
    "KNOWN_STATUSES",
    "LIVE_STATUSES",
    "Batch",
    "BatchKey",
    "BatchListing",
    "BatchPage",
    "BifrostClient",
    "GatewayError",
    "GatewayErrorBody",
    "GatewayHTTPError",
    "GatewayResponseError",
    "GatewayTimeout",
    "GatewayUnreachable",
    "RequestCounts",
    "batch_key",
    "batch_path",
    "key_origin",
    "parse_retry_after",
    "status_is_finished",
]

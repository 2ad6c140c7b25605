"""The Bifrost batch API: models and an async client. No Textual here."""

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

"""The batch APIs batchtop speaks, and how each differs from Bifrost's native one.

The client sends every call through a :class:`Dialect` and reads every answer back into
the shape of Bifrost's batch objects, so the models, the board and every screen know one
shape only:

- ``bifrost`` — Bifrost's own ``/v1/batches`` (``provider`` on every call; DESIGN.md).
- ``openai`` — OpenAI's Batch API, as OpenAI, a LiteLLM proxy and Bifrost's ``/openai``
  route speak it (https://platform.openai.com/docs/api-reference/batch): the same paths,
  ``provider`` only when the profile names providers, pages by ``after`` = the last id,
  errors ``{"error": {"message", "type", "param", "code"}}``. Its batch objects already are
  what Bifrost returns for an OpenAI-backed batch, plus ``model`` and ``usage``.
- ``anthropic`` — Anthropic's Message Batches API directly
  (https://docs.anthropic.com/en/api/listing-message-batches and the pages beside it):
  ``/v1/messages/batches``, ``x-api-key`` and ``anthropic-version`` headers, pages by
  ``after_id``, errors ``{"type": "error", "error": {"type", "message"}}``. Each message
  batch is mapped as Bifrost maps it (maximhq/bifrost core/providers/anthropic/batch.go,
  ``ToBifrostBatchRetrieveResponse``), so a batch reads the same whichever way it came.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote


class Api(StrEnum):
    BIFROST = "bifrost"
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


ANTHROPIC_VERSION = "2023-06-01"
"""The ``anthropic-version`` header: the one version of the API Anthropic has published."""


@dataclass(frozen=True)
class Call:
    path: str
    params: dict[str, str | int]


def path_segment(batch_id: str) -> str:
    """``batch_id`` as one path segment: ids contain ``/`` and ``:``, so it is encoded whole.

    ``quote`` leaves dots alone, and a segment that is only ``.`` or ``..`` would be
    resolved away by the URL layer (``..`` + ``/cancel`` would POST to ``/v1/cancel``), so
    such ids have their dots encoded too. Lone surrogates pass through as bytes: the
    gateway then answers 404 instead of the client crashing."""
    segment = quote(batch_id, safe="", errors="surrogatepass")
    if segment in (".", ".."):
        segment = segment.replace(".", "%2E")
    return segment


@dataclass(frozen=True)
class Dialect:
    """How one API is asked for batches, and how its answers are read."""

    api: Api
    send_provider: bool = True
    """Whether ``provider`` goes on each call (always for Bifrost; for the OpenAI API only
    when the profile names providers; never for Anthropic's)."""

    @property
    def root(self) -> str:
        return "/v1/messages/batches" if self.api is Api.ANTHROPIC else "/v1/batches"

    def auth_headers(self, api_key: str | None, auth_header: str) -> dict[str, str]:
        if self.api is Api.ANTHROPIC:
            headers = {"anthropic-version": ANTHROPIC_VERSION}
            if api_key:
                headers["x-api-key"] = api_key
            return headers
        if not api_key:
            return {}
        if self.api is Api.OPENAI or auth_header == "authorization":
            return {"Authorization": f"Bearer {api_key}"}
        return {auth_header: api_key}

    def _params(self, provider: str) -> dict[str, str | int]:
        return {"provider": provider} if self.send_provider else {}

    def list_call(self, provider: str, limit: int, after: str | None) -> Call:
        params = self._params(provider)
        params["limit"] = limit
        if after:
            params["after_id" if self.api is Api.ANTHROPIC else "after"] = after
        return Call(self.root, params)

    def retrieve_call(self, provider: str, batch_id: str) -> Call:
        return Call(f"{self.root}/{path_segment(batch_id)}", self._params(provider))

    def cancel_call(self, provider: str, batch_id: str) -> Call:
        return Call(f"{self.root}/{path_segment(batch_id)}/cancel", self._params(provider))

    # -- answers ------------------------------------------------------------------------

    def batch(self, body: Any) -> Any:
        """A batch object in Bifrost's shape (anything not a dict is passed on, to be refused)."""
        if self.api is Api.ANTHROPIC and isinstance(body, dict):
            return anthropic_to_bifrost(body)
        return body

    def page(self, body: Any) -> Any:
        """A list answer in Bifrost's shape: ``data`` in Bifrost's shape, the rest as sent."""
        if self.api is Api.ANTHROPIC and isinstance(body, dict) and isinstance(body.get("data"), list):
            return {**body, "data": [self.batch(item) for item in body["data"]]}
        return body


def dialect_for(api: Api | str, *, providers_named: bool = True) -> Dialect:
    api = Api(api)
    if api is Api.BIFROST:
        return Dialect(api, send_provider=True)
    if api is Api.OPENAI:
        return Dialect(api, send_provider=providers_named)
    return Dialect(api, send_provider=False)


# -- Anthropic's message batches, read as Bifrost reads them ------------------------------

_ANTHROPIC_STATUS = {"in_progress": "in_progress", "canceling": "cancelling", "ended": "ended"}
"""batch.go ToBifrostBatchStatus; any other value passes through as it is."""


def _unix(value: Any) -> int | None:
    """An RFC 3339 time as unix seconds (batch.go parseAnthropicTimestamp); None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp())


def _count(counts: dict[str, Any], name: str) -> int:
    value = counts.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def anthropic_to_bifrost(item: dict[str, Any]) -> dict[str, Any]:
    """One message batch as Bifrost returns it for an Anthropic-backed batch.

    batch.go ToBifrostBatchRetrieveResponse: status from processing_status (kept as well),
    type "message_batch" → object "batch", created_at/expires_at, ended_at → completed_at
    (whatever the ending), cancel_initiated_at → cancelling_at, archived_at, results_url;
    counts: total = processing + succeeded + errored + canceled + expired, completed =
    succeeded, failed = errored, pending = processing."""
    status = item.get("processing_status")
    out: dict[str, Any] = {
        "id": item.get("id"),
        "object": "batch" if item.get("type") == "message_batch" else item.get("type"),
        "status": _ANTHROPIC_STATUS.get(status, status) if isinstance(status, str) else status,
        "processing_status": status,
        "results_url": item.get("results_url"),
        "created_at": _unix(item.get("created_at")),
        "expires_at": _unix(item.get("expires_at")),
        "completed_at": _unix(item.get("ended_at")),
        "cancelling_at": _unix(item.get("cancel_initiated_at")),
        "archived_at": _unix(item.get("archived_at")),
        "extra_fields": {"provider": "anthropic"},
    }
    counts = item.get("request_counts")
    if isinstance(counts, dict):
        c = {name: _count(counts, name) for name in ("processing", "succeeded", "errored", "canceled", "expired")}
        out["request_counts"] = {
            "total": sum(c.values()),
            "completed": c["succeeded"],
            "failed": c["errored"],
            "succeeded": c["succeeded"],
            "expired": c["expired"],
            "canceled": c["canceled"],
            "pending": c["processing"],
        }
    return {key: value for key, value in out.items() if value is not None}


# -- gateway quirks in error answers -------------------------------------------------------

_LITELLM_CLASS = re.compile(r"^litellm\.\w+:\s*")
"""LiteLLM names its exception class first: "litellm.BadRequestError: …"."""
_LITELLM_PREFIX = re.compile(r"^Error code: (\d{3}) - ", re.IGNORECASE)
_QUOTED_MESSAGE = re.compile(r"""['"]message['"]\s*:\s*(['"])(.*?)(?<!\\)\1""", re.DOTALL)
NO_DB = "No connected db."
"""LiteLLM's answer (400) to any key but its master key when it runs without a database."""


@dataclass
class ErrorReading:
    message: str
    auth: bool = False
    unsupported: bool = False


def read_error_quirks(api: Api, status: int, message: str) -> ErrorReading:
    """What an OpenAI-compatible gateway's error text means, where it would mislead.

    - LiteLLM passes an upstream error on as ``Error code: 404 - {'error': {'message': …}}``
      (the upstream body, often a Python dict's repr), and may put its exception's class
      first ("litellm.BadRequestError: …"): the upstream message is the news.
    - LiteLLM without a database answers a key that is not its master key with 400 "No
      connected db.": the key was rejected.
    - LiteLLM names a provider it cannot list with "LiteLLM doesn't support <p> for
      'list_batch'": that provider has no batch API there, as Bifrost's unsupported_operation.
    """
    reading = ErrorReading(message)
    if api is not Api.OPENAI:
        return reading
    text = _LITELLM_CLASS.sub("", message.strip(), count=1)
    prefix = _LITELLM_PREFIX.match(text)
    if prefix:
        rest = text[prefix.end() :]
        inner = _QUOTED_MESSAGE.search(rest)
        text = inner.group(2).strip() if inner else rest.strip()
    if text == NO_DB or text.rstrip(".") == NO_DB.rstrip("."):
        return ErrorReading(
            "key rejected: a LiteLLM proxy without a database accepts only its master key "
            f'(it answered {status} "{NO_DB}")',
            auth=True,
        )
    if re.match(r"LiteLLM doesn't support \S+ for '\w*batch", text):
        reading.unsupported = True
    reading.message = text or message
    return reading

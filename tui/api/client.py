"""Async client of the Bifrost batch API on one shared keep-alive connection pool."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import ValidationError
from pydantic_core import from_json

from tui import __version__
from tui.api.dialects import Api, Dialect, dialect_for, path_segment, read_error_quirks
from tui.api.errors import (
    GatewayError,
    GatewayHTTPError,
    GatewayResponseError,
    GatewayTimeout,
    GatewayUnreachable,
)
from tui.api.models import Batch, BatchPage, GatewayErrorBody

AuthHeader = Literal["authorization", "x-bf-vk", "x-api-key"]

MAX_BODY_BYTES = 16 * 1024 * 1024
"""A list page of 100 batches is a few hundred KB; anything past this is refused unread."""

DEFAULT_PAGE_CAP = 50
"""Pages followed per provider and list call: 50 pages of 100 is 5,000 batches."""


@dataclass
class BatchListing:
    """Every batch of one provider, gathered across pages."""

    provider: str
    batches: list[Batch] = field(default_factory=list)
    pages: int = 0
    truncated: bool = False
    """True when the page cap stopped the walk before the gateway's last page."""
    repeated: bool = False
    """True when a "next" page brought only batches already listed (or a cursor already
    followed): the gateway does not pass ``after`` on to this provider (Bifrost reads
    AfterID/PageToken for anthropic, bedrock and gemini, which /v1/batches never fills),
    so only the newest batches are known."""
    skipped: int = 0
    """Items the gateway sent that were not readable batch objects."""
    cursor: str | None = None
    """The ``after`` of the next page to ask for (None: page one). When a page fails, it
    stays on that page, so walking the same listing again resumes there."""
    cursors: set[str] = field(default_factory=set)
    """Cursors already followed (one seen twice means the gateway ignores ``after``)."""

    @property
    def complete(self) -> bool:
        """True when every batch the gateway holds for this provider was listed."""
        return not (self.truncated or self.repeated)

    def shortfall(self, *, named: bool = True) -> str | None:
        """One line on why the listing is not complete, or None when it is; ``named``
        starts it with the provider ("anthropic: …")."""
        if self.repeated:
            text = f"the gateway returned only the newest {len(self.batches)} batches (its next page repeats the first)"
        elif self.truncated:
            text = f"only the newest {len(self.batches)} batches listed (stopped after {self.pages} pages)"
        else:
            return None
        return f"{self.provider}: {text}" if named else text


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            # asctime dates and "-0000" carry no zone; HTTP dates are always UTC.
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0
    return min(seconds, 3600.0)


def decode_json(raw: bytes) -> Any:
    """JSON to Python, reading NaN/Infinity (which Python accepts, JSON does not) as null so
    that they can never reach ``--json`` output. Raises ValueError or RecursionError.

    pydantic-core's parser (jiter) reads a page in half the time of ``json.loads`` (a 56 KB
    page of 100 batches: 0.45 ms against 0.83 ms), and a poll's CPU is mostly reading
    pages. Whatever it refuses (NaN, lone surrogates, bad UTF-8, deep nesting) goes to
    ``json.loads``, so what is accepted, and each error, stays as it was."""
    try:
        return from_json(raw, allow_inf_nan=False)
    except ValueError:
        return json.loads(raw, parse_constant=lambda _constant: None)


def batch_path(batch_id: str, suffix: str = "") -> str:
    """``/v1/batches/{id}``: ids contain ``/`` and ``:``, so the id is one encoded segment.

    ``quote`` leaves dots alone, and a segment that is only ``.`` or ``..`` would be
    resolved away by the URL layer (``..`` + ``/cancel`` would POST to ``/v1/cancel``), so
    such ids have their dots encoded too. Lone surrogates pass through as bytes: the
    gateway then answers 404 instead of the client crashing.
    """
    return f"/v1/batches/{path_segment(batch_id)}{suffix}"


class BifrostClient:
    """Talks to one gateway with one key. Use as ``async with BifrostClient(...) as c``."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        auth_header: AuthHeader = "authorization",
        verify: bool | str = True,
        timeout: float = 10.0,
        connect_timeout: float | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
        dialect: Dialect | None = None,
        origin: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = origin
        """The profile this client serves on a board of several profiles ("" otherwise): every
        batch it reads carries it, and so do their keys (tui.api.models.batch_key)."""
        self.dialect = dialect or dialect_for(Api.BIFROST)
        """Which batch API the gateway speaks (tui/api/dialects.py)."""
        self._timeout = timeout
        self._connect_timeout = timeout if connect_timeout is None else connect_timeout
        self._max_body_bytes = max_body_bytes
        self._parsed = ParsedBatches(origin=origin)
        self._first_pages: dict[str, tuple[bytes, Any]] = {}
        """Per provider, the bytes of the last first page read and what they decoded to."""
        headers = {"User-Agent": f"batchtop/{__version__}", "Accept": "application/json"}
        headers.update(self.dialect.auth_headers(api_key, auth_header))
        plain_http = httpx.URL(self.base_url).scheme == "http"
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            # A plain-http gateway never speaks TLS (redirects are not followed), and
            # loading the CA store costs ~100 ms of start-up: skip it there.
            verify=False if plain_http else _verify_setting(verify),
            timeout=httpx.Timeout(timeout, connect=self._connect_timeout),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            follow_redirects=False,
            transport=transport,
            trust_env=False,
        )

    async def __aenter__(self) -> BifrostClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the three calls -------------------------------------------------------------

    async def list_page(self, provider: str, *, limit: int = 100, after: str | None = None) -> BatchPage:
        call = self.dialect.list_call(provider, limit, after)
        memo = None if after else provider  # page one, asked at every poll: mostly the same bytes
        body = self.dialect.page(await self._request("GET", call.path, provider, call.params, memo=memo))
        page = _parse_page(body, provider, self._parsed.read, None if after else self._parsed)
        return page

    async def list_batches(self, provider: str, *, limit: int = 100, page_cap: int = DEFAULT_PAGE_CAP) -> BatchListing:
        """Every batch of ``provider``, newest first, following ``next_cursor`` page by page."""
        listing = BatchListing(provider)
        async for _page in self.walk_pages(listing, limit=limit, page_cap=page_cap):
            pass
        return listing

    async def walk_pages(
        self, listing: BatchListing, *, limit: int = 100, page_cap: int = DEFAULT_PAGE_CAP
    ) -> AsyncIterator[list[Batch]]:
        """List ``listing.provider`` page by page, newest first: yields each page's batches not
        seen before (also gathered in ``listing``), so a caller can show page one while the
        rest arrives. Stop iterating to stop listing.

        Bifrost walks a provider's keys one after another (core/providers/utils/pagination.go
        BuildNextCursor): a key without batches gives an empty page with ``has_more`` and a
        cursor for the next key, which is not the end. A page of batches already listed, or
        a cursor already followed, means the gateway ignored ``after``: stop, and say so.
        A page that fails raises and leaves ``listing`` on it: walking it again resumes there.
        """
        provider = listing.provider
        seen = {batch.id for batch in listing.batches}
        while True:
            page = await self.list_page(provider, limit=limit, after=listing.cursor)
            listing.pages += 1
            listing.skipped += page.skipped
            fresh = [batch for batch in page.data if batch.id not in seen]
            if page.data and not fresh:
                listing.repeated = True
                return
            for batch in fresh:
                seen.add(batch.id)
            listing.batches.extend(fresh)
            # Where to go next is settled before the page is handed out: a caller that stops
            # iterating here (a pause) leaves the listing on the next page, not on this one.
            done = self._advance(listing, page, page_cap)
            yield fresh
            if done:
                return

    @staticmethod
    def _advance(listing: BatchListing, page: BatchPage, page_cap: int) -> bool:
        """Move ``listing.cursor`` on to the page after ``page``; True when there is none to
        ask for (the end, a cursor already followed, or the page cap)."""
        if not page.has_more:
            return True
        after = page.next_cursor or page.last_id or (page.data[-1].id if page.data else None)
        if not after:
            return True  # "more" with no way to ask for it: nothing else to do
        if after in listing.cursors:
            listing.repeated = True
            return True
        if listing.pages >= page_cap:
            listing.truncated = True
            return True
        listing.cursors.add(after)
        listing.cursor = after
        return False

    async def retrieve(self, provider: str, batch_id: str) -> Batch:
        call = self.dialect.retrieve_call(provider, batch_id)
        body = self.dialect.batch(await self._request("GET", call.path, provider, call.params))
        return _parse_batch(body, provider, self._parsed.read)

    async def cancel(self, provider: str, batch_id: str, *, on_sent: Callable[[], None] | None = None) -> Batch:
        """Ask the gateway to cancel; returns the batch as the gateway reports it after.

        ``on_sent`` is called once the whole request has been written to the connection,
        before the answer: the TUI redraws only after that, so a cancel leaves at once.
        """
        call = self.dialect.cancel_call(provider, batch_id)
        body = await self._request("POST", call.path, provider, call.params, on_sent=on_sent)
        return _parse_batch(self.dialect.batch(body), provider, self._parsed.read)

    # -- transport -------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        provider: str,
        params: dict[str, Any],
        *,
        on_sent: Callable[[], None] | None = None,
        memo: str | None = None,
    ) -> Any:
        """One call: returns the decoded JSON body of a 2xx answer or raises GatewayError.
        With ``memo``, a body of the very bytes last decoded under that name is not decoded
        again: the same object is returned (callers only read it), and the page's batches
        are then found at once (:meth:`ParsedBatches.read_page`)."""
        where = f"{method} {path}"
        extensions = {"trace": _sent_tracer(on_sent)} if on_sent is not None else None
        try:
            # The read timeout covers one read; a body trickling in byte by byte needs a
            # deadline for the whole exchange as well (after the connect timeout, so that a
            # host that never accepts is named a connect timeout).
            async with asyncio.timeout(self._connect_timeout + self._timeout * 3):
                async with self._http.stream(method, path, params=params, extensions=extensions) as response:
                    raw = await self._read_capped(response.aiter_bytes(), response, provider)
        except (TimeoutError, httpx.HTTPError) as exc:
            raise self._transport_error(exc, where, provider) from None

        status = response.status_code
        if 200 <= status < 300:
            if memo is not None and (last := self._first_pages.get(memo)) is not None and last[0] == raw:
                return last[1]
            try:
                body = decode_json(raw)
                if memo is not None:
                    self._first_pages[memo] = (raw, body)
                return body
            except (ValueError, RecursionError):
                raise GatewayResponseError(
                    f"gateway sent a response that is not JSON ({len(raw)} bytes) for {where}",
                    status=status,
                    provider=provider,
                    short="malformed response",
                ) from None
        raise _http_error(status, raw, response.headers, provider, self.dialect.api)

    def _transport_error(self, exc: BaseException, where: str, provider: str) -> GatewayError:
        """The typed error for a call that got no HTTP answer: what happened, in a line, and
        whether the request may have reached the gateway (``sent``)."""
        kind: type[GatewayError] = GatewayUnreachable
        sent: bool | None = None
        if isinstance(exc, TimeoutError):
            kind, short = GatewayTimeout, "gateway too slow"
            message = (
                f"gateway too slow: no complete answer to {where} in {self._connect_timeout + self._timeout * 3:g}s"
            )
        elif isinstance(exc, httpx.TimeoutException):
            connect = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
            phase = "connect" if connect else "read"
            limit = self._connect_timeout if connect else self._timeout
            kind, short, sent = GatewayTimeout, f"{phase} timeout", False if connect else None
            message = f"gateway timed out ({phase}, {limit:g}s) on {where}"
        elif isinstance(exc, httpx.ConnectError):
            (message, short), sent = _connect_message(self.base_url, exc), False
        elif isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            message, short = f"connection to gateway dropped during {where} ({_reason(exc)})", "connection dropped"
        else:
            message, short = f"gateway request failed: {_reason(exc)}", "request failed"
        return kind(message, provider=provider, short=short, sent=sent)

    async def _read_capped(self, chunks: AsyncIterator[bytes], response: httpx.Response, provider: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            raise _oversized(int(declared), self._max_body_bytes, provider)
        buffer = bytearray()
        async for chunk in chunks:
            buffer += chunk
            if len(buffer) > self._max_body_bytes:
                raise _oversized(len(buffer), self._max_body_bytes, provider)
        return bytes(buffer)


async def retrieve_each(
    client: BifrostClient, provider: str, batch_ids: list[str], *, concurrency: int = 4
) -> list[Batch | GatewayError]:
    """Retrieve each of ``batch_ids``, at most ``concurrency`` at a time; a failure is
    returned in the batch's place (one bad id must not hide the others)."""
    limit = asyncio.Semaphore(concurrency)

    async def one(batch_id: str) -> Batch | GatewayError:
        async with limit:
            try:
                return await client.retrieve(provider, batch_id)
            except GatewayError as exc:
                return exc

    return list(await asyncio.gather(*(one(i) for i in batch_ids)))


def _verify_setting(verify: bool | str) -> bool | ssl.SSLContext:
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


def _oversized(size: int, cap: int, provider: str) -> GatewayResponseError:
    return GatewayResponseError(
        f"gateway response too large (over {cap // (1024 * 1024)} MB, at least {size:,} bytes); not read",
        provider=provider,
        short="response too large",
    )


def _sent_tracer(on_sent: Callable[[], None]) -> Callable[[str, dict[str, Any]], Any]:
    """An httpcore trace hook that calls ``on_sent`` once the request body is written."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            on_sent()

    return trace


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text and text[0] else type(exc).__name__


def _connect_message(base_url: str, exc: httpx.ConnectError) -> tuple[str, str]:
    """(message, short) for a failed connection."""
    reason = _reason(exc)
    lowered = reason.lower()
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        return (
            f"TLS verification failed for {base_url}: {reason}. Trust the gateway's CA with "
            "ca_bundle in the profile (or verify_tls = false, not recommended)",
            "TLS certificate not trusted",
        )
    if "refused" in lowered or "all connection attempts failed" in lowered:
        # anyio reports a refused connection as "All connection attempts failed".
        return (
            f"gateway unreachable: cannot connect to {base_url} (connection refused or host down)",
            "cannot connect",
        )
    if "name or service" in lowered or "nodename" in lowered or "getaddrinfo" in lowered:
        return f"gateway unreachable: cannot resolve the host of {base_url}", "host not found"
    return f"gateway unreachable at {base_url}: {reason}", "gateway unreachable"


def _http_error(
    status: int, raw: bytes, headers: httpx.Headers, provider: str, api: Api = Api.BIFROST
) -> GatewayHTTPError:
    retry_after = parse_retry_after(headers.get("retry-after"))
    body: GatewayErrorBody | None = None
    try:
        body = GatewayErrorBody.model_validate(decode_json(raw))
    except (ValueError, ValidationError, TypeError, RecursionError):
        pass
    message = (body.message or "").strip() if body else ""
    cause = (body.cause or "").strip() if body else ""
    if not message:
        message = cause or _default_message(status)
    elif cause and cause not in message:
        # error.error is the underlying cause ("dial tcp …: connection refused"): worth a look.
        message = f"{message} ({cause})"
    quirks = read_error_quirks(api, status, message)
    return GatewayHTTPError(
        f"{status}: {quirks.message}",
        status=status,
        error_type=body.error_type if body else None,
        error_code=body.code if body else None,
        retry_after=retry_after,
        provider=provider,
        unsupported=quirks.unsupported or (body.unsupported if body else False),
        auth=quirks.auth,
    )


def _default_message(status: int) -> str:
    return {
        400: "bad request",
        401: "key rejected (no key or an invalid one)",
        403: "key rejected (not allowed)",
        404: "not found",
        409: "conflict",
        429: "rate limited",
        499: "request cancelled before the gateway answered",
        500: "gateway internal error",
        502: "bad gateway (upstream provider failed)",
        503: "gateway unavailable",
        504: "gateway timeout (upstream provider too slow)",
    }.get(status, "gateway error")


PARSED_KEPT = 50_000
"""Batches whose parse the client keeps, to answer an unchanged wire object with the same
Batch: parsing costs ~70 µs a batch, comparing ~5 µs, and a poll of a quiet gateway is
almost all unchanged objects."""


class ParsedBatches:
    """The last Batch read for each (provider, id), reused while the wire object is the same."""

    def __init__(self, keep: int = PARSED_KEPT, origin: str = "") -> None:
        self._keep = keep
        self._origin = origin
        self._batches: dict[tuple[str, object], Batch] = {}
        self._pages: dict[str, tuple[list[Any], list[Batch]]] = {}
        """Per provider, the items of the first page last read and their batches."""

    def read_page(self, items: list[Any], provider: str) -> list[Batch] | None:
        """The batches of a page whose items are exactly those of the last page read for
        ``provider`` (one comparison for the lot, at C speed), or None."""
        last = self._pages.get(provider)
        if last is not None and last[0] == items:
            return last[1]
        return None

    def remember_page(self, items: list[Any], provider: str, batches: list[Batch]) -> None:
        self._pages[provider] = (items, batches)

    def read(self, item: dict[str, Any], provider: str) -> Batch:
        """Raises pydantic.ValidationError when id/status are unusable (as Batch.from_wire)."""
        key = (provider, item.get("id"))
        known = self._batches.get(key)
        if known is not None and known.says_the_same_as(item):
            return known
        batch = Batch.from_wire(item, provider, self._origin)
        if known is None and len(self._batches) >= self._keep:
            self._batches.pop(next(iter(self._batches)))  # the oldest entry
        self._batches[key] = batch
        return batch


def _parse_batch(body: Any, provider: str, read: Callable[[dict[str, Any], str], Batch] = Batch.from_wire) -> Batch:
    if not isinstance(body, dict):
        raise GatewayResponseError(
            f"gateway sent {type(body).__name__} where a batch object belongs",
            provider=provider,
            short="malformed response",
        )
    try:
        return read(body, provider)
    except ValidationError as exc:
        raise GatewayResponseError(
            f"gateway sent a batch object without a usable {_first_field(exc)}",
            provider=provider,
            short="malformed response",
        ) from None


def _parse_page(
    body: Any,
    provider: str,
    read: Callable[[dict[str, Any], str], Batch] = Batch.from_wire,
    pages: ParsedBatches | None = None,
) -> BatchPage:
    if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
        raise GatewayResponseError(
            "gateway sent a list response of the wrong shape (no 'data' array)",
            provider=provider,
            short="malformed response",
        )
    items = body.get("data", [])
    known = pages.read_page(items, provider) if pages is not None else None
    skipped = 0
    if known is not None:
        batches = known
        skipped = len(items) - len(known)
    else:
        batches = []
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise TypeError
                batches.append(read(item, provider))
            except (ValidationError, TypeError):
                skipped += 1  # one unreadable item must not hide the others
        if pages is not None:
            pages.remember_page(items, provider, batches)
    cursor = body.get("next_cursor")
    last_id = body.get("last_id")
    # Built from checked parts: validating again would copy every batch (about 1 ms a page).
    return BatchPage.model_construct(
        data=batches,
        has_more=body.get("has_more") is True,
        next_cursor=cursor if isinstance(cursor, str) and cursor else None,
        first_id=body.get("first_id") if isinstance(body.get("first_id"), str) else None,
        last_id=last_id if isinstance(last_id, str) and last_id else None,
        skipped=skipped,
    )


def _first_field(exc: ValidationError) -> str:
    errors = exc.errors()
    if errors and errors[0].get("loc"):
        return "'" + ".".join(str(p) for p in errors[0]["loc"]) + "'"
    return "field"


__all__ = [
    "BatchListing",
    "retrieve_each",
    "BifrostClient",
    "GatewayError",
    "batch_path",
    "parse_retry_after",
]

"""Typed failures of talking to the gateway.

Every exception carries ``message``: one line a person can act on, already free of the
key. The UI and the CLI show it as-is (after making it terminal-safe).
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base of every failure of a call to the gateway."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
        short: str | None = None,
        sent: bool | None = True,
        unsupported: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self._short = short
        self.sent = sent
        """Did the request reach the gateway? False: certainly not (no connection);
        None: unknown (the connection broke after sending); True: it answered."""
        self.status = status
        self.error_type = error_type
        self.error_code = error_code
        """``error.code`` as the gateway sent it ("unsupported_operation", "429", …)."""
        self.retry_after = retry_after
        self.provider = provider
        self.unsupported = unsupported

    @property
    def short(self) -> str:
        """A few words for a status line: "503 from gateway", "connection refused"."""
        return self._short or self.message


class GatewayUnreachable(GatewayError):
    """No connection: refused, DNS failure, TLS failure, connection dropped."""


class GatewayTimeout(GatewayError):
    """Connected, but the answer did not arrive in time (including a body that trickles)."""


class GatewayResponseError(GatewayError):
    """The gateway answered 2xx with something that is not what the API describes."""


class GatewayHTTPError(GatewayError):
    """The gateway answered with an error status; ``message`` is the gateway's own text."""

    def __init__(self, message: str, *, auth: bool = False, **fields: Any) -> None:
        super().__init__(message, **fields)
        self._auth = auth
        """The key was rejected although the status does not say so (LiteLLM's 400 "No
        connected db.", tui/api/dialects.py)."""

    @property
    def is_auth(self) -> bool:
        return self._auth or self.status in (401, 403)

    @property
    def is_rate_limited(self) -> bool:
        return self.status == 429

    @property
    def is_not_found(self) -> bool:
        return self.status == 404

    @property
    def is_unsupported(self) -> bool:
        """The gateway cannot do this call for this provider (``unsupported_operation``, in
        ``error.code``, ``error.type`` or, from older gateways, only the message)."""
        return self.unsupported or "unsupported_operation" in (self.error_type, self.error_code)

    @property
    def short(self) -> str:
        if self._short:
            return self._short
        if self.is_auth:
            return f"{self.status} key rejected"
        return f"{self.status} from gateway"

"""Turn pydantic's validation report into one sentence a person can act on.

pydantic reports every error, multi-line, with its own wording and the raw input (which
may be a key). batchtop shows only the first problem, phrased for where it came from:
a field in a file ("profile 'prod', field 'interval': must be ...") or a command-line
flag ("--interval must be ...").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import ValidationError

from tui.config.model import ApiName, AuthHeader, Profile, did_you_mean
from tui.config.rules import INVALID_ERROR_TYPE, shown

SECRET_FIELDS = frozenset({"api_key"})
"""Fields whose input is never quoted back, not even when it has the wrong type."""

_EXPECTED = {
    "base_url": "a URL string",
    "providers": 'a list of provider names, e.g. ["openai"]',
    "interval": "a number greater than 0",
    "timeout": "a number greater than 0",
    "read_only": "true or false",
    "protected": "true or false",
    "verify_tls": "true or false",
    "allow_insecure_http": "true or false",
    "ca_bundle": "a file path string",
    "auth_header": "one of " + ", ".join(repr(header) for header in get_args(AuthHeader)),
    "api": "one of " + ", ".join(repr(name) for name in get_args(ApiName)),
    "api_key_env": "the name of an environment variable",
    "api_key_cmd": "a list of strings or a command-line string",
    "api_key": "a string",
}
"""What each field must be, for errors found by pydantic's own type checks."""


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a profile's fields, not yet tied to a file or a flag."""

    key: str
    """The field at fault (or the unknown key)."""
    kind: Literal["unknown", "missing", "invalid"]
    detail: str
    """For "invalid", a predicate ("must be ..."); for "unknown", a suggestion or ""."""

    def after_profile(self) -> str:
        """The text that follows "profile 'prod'" in a message about a file."""
        if self.kind == "unknown":
            hint = f" ({self.detail})" if self.detail else ""
            return f": unknown field {self.key!r}{hint}"
        if self.kind == "missing":
            return f": {self.key} is required"
        return f", field {self.key!r}: {self.detail}"


def first_problem(error: ValidationError) -> Problem:
    """The first problem in ``error``, phrased without pydantic's wording or secret input."""
    first = error.errors(include_url=False)[0]
    key = str(first["loc"][0]) if first["loc"] else ""
    if first["type"] == "extra_forbidden":
        return Problem(key, "unknown", did_you_mean(key, Profile.model_fields))
    if first["type"] == "missing":
        return Problem(key, "missing", "")
    if first["type"] == INVALID_ERROR_TYPE:
        return Problem(key, "invalid", first["msg"])
    predicate = f"must be {_EXPECTED.get(key, 'a valid value')}"
    if key not in SECRET_FIELDS:
        predicate += f" (got {shown(first['input'])})"
    return Problem(key, "invalid", predicate)

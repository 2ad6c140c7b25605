"""How a config rule says no: a predicate phrase ("must be ...") that reads well after
"profile 'prod', field 'interval':" for a file and after "--interval" for a flag."""

from __future__ import annotations

from pydantic_core import PydanticCustomError

from tui.text.safe import safe_text

INVALID_ERROR_TYPE = "batchtop_invalid"
"""pydantic error type of every rule; its message is already phrased for a person."""


def invalid(predicate: str) -> PydanticCustomError:
    """A validation failure whose text is a predicate such as "must be ...".

    The text goes through the context rather than the template, so braces in a
    user's value cannot break pydantic's formatting.
    """
    return PydanticCustomError(INVALID_ERROR_TYPE, "{predicate}", {"predicate": predicate})


def shown(value: object) -> str:
    """A user's value quoted for a message: escaped and short."""
    return safe_text(repr(value), limit=60)

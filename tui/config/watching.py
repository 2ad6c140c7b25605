"""A profile's ``[signals]`` and ``[alerts]`` tables: when a batch needs a person, and how
to reach one who is not looking at the board."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tui.config.rules import invalid, shown

PositiveMinutes = Annotated[float, Field(gt=0, strict=True, allow_inf_nan=False)]
StuckState = Literal["validating", "finalizing", "cancelling"]
EventName = Literal["finished", "failed", "expired", "cancelled", "stalled", "stuck", "failing", "at_risk"]
EVENT_NAMES: tuple[EventName, ...] = EventName.__args__  # type: ignore[attr-defined]


class SignalSettings(BaseModel):
    """Thresholds of the on-call signals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stall_minutes: PositiveMinutes = Field(
        default=10.0, description="A running batch whose progress has not moved this long is STALLED."
    )
    stuck_minutes: dict[StuckState, PositiveMinutes] = Field(
        default_factory=dict,
        description="Per state, how long is too long (STUCK); defaults validating 30, finalizing 30, cancelling 15.",
    )
    failing_percent: float = Field(
        default=5.0,
        ge=0,
        le=100,
        strict=True,
        allow_inf_nan=False,
        description="failed / (succeeded + failed) above this, in percent, is FAILING.",
    )
    failing_min_requests: int = Field(
        default=20, ge=1, strict=True, description="Requests that must have finished before a batch can be FAILING."
    )


class AlertSettings(BaseModel):
    """Where alerts go besides the in-app notification, which is always shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bell: bool = Field(default=False, strict=True, description="Ring the terminal bell on each alert.")
    desktop: Literal["off", "osc9", "osc777"] = Field(
        default="off",
        description=(
            "A desktop notification through the terminal (OSC 9: iTerm2, kitty, WezTerm, Windows Terminal; "
            "OSC 777: foot, urxvt and others); works over SSH, written only when stdout is a terminal."
        ),
    )
    on_event: list[str] | None = Field(
        default=None,
        description=(
            "A command run for each alert, without a shell; {title}, {message}, {event}, {provider} and {id} "
            "are replaced in each argument."
        ),
    )
    on_event_timeout: float = Field(
        default=10.0, gt=0, strict=True, allow_inf_nan=False, description="Seconds the command may take."
    )
    webhook_url: str | None = Field(
        default=None, description="A URL to POST each alert to as JSON with a Slack-compatible 'text'."
    )
    webhook_min_interval: float = Field(
        default=10.0,
        ge=0,
        strict=True,
        allow_inf_nan=False,
        description="Seconds between two webhook posts; alerts in between go out together in the next one.",
    )
    events: list[EventName] = Field(
        default_factory=lambda: list(EVENT_NAMES),
        description="Which events are sent to the bell, desktop, command and webhook.",
    )

    @field_validator("on_event")
    @classmethod
    def _check_command(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or not value[0].strip()):
            raise invalid('must name a program to run, as a list: ["notify-send", "{title}", "{message}"]')
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise invalid(f"must be an http:// or https:// URL (got {shown(value)})")
        return value

"""Reading the audit log as the tests do: every line of this run's log, parsed."""

from __future__ import annotations

import json

from tui.cancel.audit import audit_path


def audit_lines() -> list[dict]:
    path = audit_path()
    if not path.exists():
        return []
    return [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines() if raw.strip()]

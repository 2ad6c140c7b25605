"""The audit log of cancel attempts (tui.cancel.audit) and ``batchtop audit`` (tui.cli.audit)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from tui.cancel import audit as audit_mod
from tui.cancel.audit import (
    AUDIT_FILE,
    COUNT_KEYS,
    AuditError,
    AuditLog,
    AuditRecord,
    audit_path,
    parse_since,
)
from tui.cli.audit import run_audit
from tui.cli.parser import build_parser
from tui.config import state_dir

NOW = dt.datetime(2026, 11, 25, 20, 18, 0, 123000, tzinfo=dt.UTC).timestamp()
KEY = "sk-bf-0123456789abcdefSECRET"
COUNTS = {"total": 5000, "pending": 1204, "succeeded": 3700, "failed": 96, "canceled": None, "expired": 0}
FIELDS = [
    "time",
    "source",
    "session",
    "user",
    "host",
    "profile",
    "gateway",
    "provider",
    "batch_id",
    "status_before",
    "counts",
    "outcome",
    "message",
    "sent",
    "status_after",
]


def _record(log: AuditLog, **overrides) -> AuditRecord:
    fields = dict(
        profile="prod",
        gateway="https://bifrost.example.com:8443/v1",
        provider="openai",
        batch_id="batch_6f1c",
        status_before="in_progress",
        counts=COUNTS,
        outcome="accepted",
        sent=True,
        status_after="cancelling",
        now=NOW,
    )
    fields.update(overrides)
    return log.record(**fields)


def _lines(path: Path) -> list[str]:
    return path.read_text("ascii").splitlines()


# -- writing ----------------------------------------------------------------------------


def test_path_is_in_the_state_dir() -> None:
    assert audit_path() == state_dir() / AUDIT_FILE
    assert AuditLog(source="tui").path == audit_path()


def test_record_writes_one_complete_json_line_per_call() -> None:
    log = AuditLog(source="tui", session="s1")
    first = _record(log)
    _record(log, batch_id="batch_2", outcome="refused", message="batch already completed", sent=True, status_after=None)

    lines = _lines(log.path)
    assert len(lines) == 2
    data = json.loads(lines[0])
    assert list(data) == FIELDS  # stable key order
    assert data == first.to_dict()
    assert data["time"] == "2026-11-25T20:18:00.123Z"
    assert data["source"] == "tui" and data["session"] == "s1"
    assert data["user"] and data["host"]
    assert data["gateway"] == "bifrost.example.com:8443"
    assert data["counts"] == COUNTS and list(data["counts"]) == list(COUNT_KEYS)
    assert data["outcome"] == "accepted" and data["message"] is None
    assert data["sent"] is True and data["status_after"] == "cancelling"
    assert json.loads(lines[1])["message"] == "batch already completed"
    assert log.path.read_bytes().endswith(b"\n")


def test_default_session_is_a_fresh_short_id() -> None:
    a, b = AuditLog(source="cli"), AuditLog(source="cli")
    assert len(a.session) == 12 and a.session != b.session


def test_fsync_happens_after_the_write_and_before_record_returns(monkeypatch) -> None:
    calls: list[str] = []
    real_write, real_fsync = os.write, os.fsync

    def spy_write(fd, data):
        calls.append(f"write {fd}")
        return real_write(fd, data)

    def spy_fsync(fd):
        calls.append(f"fsync {fd}")
        return real_fsync(fd)

    monkeypatch.setattr(audit_mod.os, "write", spy_write)
    monkeypatch.setattr(audit_mod.os, "fsync", spy_fsync)
    log = AuditLog(source="cli")
    for batch_id in ("b1", "b2"):  # a new file, then an existing one
        calls.clear()
        _record(log, batch_id=batch_id)
        calls.append("returned")
        (write,) = [c for c in calls if c.startswith("write")]  # the whole line in one call
        fd = write.split()[1]
        assert calls.index(write) < calls.index(f"fsync {fd}") < calls.index("returned")


@pytest.mark.parametrize("umask", [0o022, 0o277])
def test_file_is_0600_and_new_folders_0700(tmp_path, umask: int) -> None:
    path = tmp_path / "a" / "b" / AUDIT_FILE
    old = os.umask(umask)
    try:
        _record(AuditLog(path, source="cli"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700


def test_appends_never_rewrite_earlier_lines() -> None:
    log = AuditLog(source="tui")
    _record(log)
    before = log.path.read_bytes()
    _record(log, batch_id="batch_2")
    after = log.path.read_bytes()
    assert after.startswith(before) and len(after.splitlines()) == 2


def test_write_failure_raises_audit_error_naming_the_file(tmp_path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    log = AuditLog(blocker / AUDIT_FILE, source="cli", secrets=[KEY])
    with pytest.raises(AuditError) as info:
        _record(log, message=f"bad {KEY}")
    assert str(blocker / AUDIT_FILE) in info.value.message
    assert KEY not in info.value.message


def test_short_write_is_an_error_not_silence(monkeypatch) -> None:
    real_write = os.write
    monkeypatch.setattr(audit_mod.os, "write", lambda fd, data: real_write(fd, data[:10]))
    with pytest.raises(AuditError, match="torn"):
        _record(AuditLog(source="cli"))


def test_torn_last_line_is_skipped_and_the_next_record_starts_fresh() -> None:
    log = AuditLog(source="tui")
    _record(log)
    whole = _record(log, batch_id="batch_2")
    with open(log.path, "ab") as f:  # a crash in the middle of a write
        f.write(whole.to_json().encode()[:40])

    assert [r.batch_id for r in log.read()] == ["batch_6f1c", "batch_2"]
    assert log.last_read_skipped == 1

    _record(log, batch_id="batch_3")
    assert [r.batch_id for r in log.read()] == ["batch_6f1c", "batch_2", "batch_3"]
    assert log.last_read_skipped == 1  # the torn piece stays on its own line
    assert len(_lines(log.path)) == 4


def test_read_skips_non_objects_and_tolerates_odd_records() -> None:
    log = AuditLog(source="cli")
    log.path.parent.mkdir(parents=True)
    log.path.write_bytes(
        b'[1,2]\n"text"\n\xff\xfe\n\n'
        b'{"batch_id": "b1", "future_key": 1, "counts": {"pending": "many"}, "sent": "yes"}\n'
    )
    (only,) = log.read()
    assert log.last_read_skipped == 3
    assert only.batch_id == "b1" and only.profile == "" and only.status_before is None
    assert only.counts == dict.fromkeys(COUNT_KEYS) and only.sent is None


def test_missing_file_reads_as_empty() -> None:
    log = AuditLog(source="cli")
    assert log.read() == [] and log.last_read_skipped == 0


def test_read_filters_by_since_and_session() -> None:
    mine, other = AuditLog(source="tui", session="mine"), AuditLog(source="cli", session="other")
    _record(mine, batch_id="old", now=NOW - 7200)
    _record(other, batch_id="new-other", now=NOW - 60)
    _record(mine, batch_id="new-mine", now=NOW)
    assert [r.batch_id for r in mine.read(since=NOW - 3600)] == ["new-other", "new-mine"]
    assert [r.batch_id for r in mine.read(session="mine")] == ["old", "new-mine"]


def test_the_key_never_reaches_the_file() -> None:
    log = AuditLog(source="cli", secrets=[KEY, ""])
    _record(
        log,
        gateway=f"https://user:{KEY}@gw.example.com/?key={KEY}",
        outcome="failed",
        sent=None,
        status_after=None,
        message=f"401 invalid key {KEY}" + "x" * 5000 + KEY,
    )
    _record(log, outcome="refused", message=f"Authorization: Bearer {KEY}", profile=KEY)
    text = log.path.read_text()
    assert KEY not in text and "SECRET" not in text
    first, second = log.read()
    assert first.gateway == "gw.example.com"
    assert first.message.startswith("401 invalid key ***")
    assert second.message == "Authorization: Bearer ***" and second.profile == "***"


def test_concurrent_records_stay_whole() -> None:
    log = AuditLog(source="tui")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(50):
                _record(log, batch_id=f"batch_{n}_{i}", message="m" * (n * 37))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    records = log.read()
    assert log.last_read_skipped == 0 and len(_lines(log.path)) == 400
    assert {r.batch_id for r in records} == {f"batch_{n}_{i}" for n in range(8) for i in range(50)}


@pytest.mark.skipif(audit_mod.fcntl is None, reason="POSIX file locks only")
def test_writers_in_other_processes_are_serialised_by_a_file_lock() -> None:
    """Another open file description (as another process would have) holding the lock blocks record()."""
    import fcntl

    log = AuditLog(source="cli")
    _record(log)
    before = log.path.read_bytes()
    with open(log.path, "ab") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        writer = threading.Thread(target=_record, args=(log,), kwargs={"batch_id": "waited"})
        writer.start()
        writer.join(0.2)
        assert writer.is_alive() and log.path.read_bytes() == before
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
        writer.join(5)
    assert [r.batch_id for r in log.read()] == ["batch_6f1c", "waited"]


def test_bad_source_or_outcome_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        AuditLog(source="web")
    with pytest.raises(ValueError):
        _record(AuditLog(source="cli"), outcome="maybe")


# -- parse_since ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        (" 2H ", 7200),
        ("1.5h", 5400),
        ("0s", 0),
    ],
)
def test_parse_since_durations(text: str, seconds: float) -> None:
    assert parse_since(text, now=NOW) == NOW - seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25", dt.datetime(2026, 11, 25, tzinfo=dt.UTC)),
        ("2026-11-25T10:00", dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)),
        ("2026-11-25T10:00Z", dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)),
        ("2026-11-25T10:00:30.5+02:00", dt.datetime(2026, 11, 25, 8, 0, 30, 500000, tzinfo=dt.UTC)),
    ],
)
def test_parse_since_dates(text: str, expected: dt.datetime) -> None:
    assert parse_since(text, now=NOW) == expected.timestamp()


@pytest.mark.parametrize("text", ["", "2", "h", "-2h", "2y", "2 hours", "yesterday", "2026-13-01", "inf"])
def test_parse_since_rejects_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match="--since takes a duration like 2h or 30m, or a date like 2026-11-25"):
        parse_since(text, now=NOW)


# -- batchtop audit ------------------------------------------------------------------------


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = run_audit(build_parser().parse_args(["audit", *argv]))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_empty_log(capsys) -> None:
    code, out, err = _run(capsys)
    assert code == 0 and err == ""
    assert out.strip() == f"no cancel attempts recorded in {audit_path()}"


def test_cli_table(capsys) -> None:
    log = AuditLog(source="tui")
    _record(log, batch_id="projects/p/locations/us/batchPredictionJobs/1234567890")
    _record(
        log,
        outcome="failed",
        sent=None,
        status_after=None,
        message="connection reset " * 10,
        counts={"total": None, "pending": None},
    )
    code, out, err = _run(capsys)
    assert code == 0 and err == ""
    header, first, second = out.splitlines()
    assert header.split() == [
        "TIME",
        "SOURCE",
        "USER@HOST",
        "PROFILE",
        "PROVIDER",
        "BATCH",
        "OUTCOME",
        "COUNTS",
        "MESSAGE",
    ]
    local = dt.datetime.fromtimestamp(NOW).strftime("%Y-%m-%d %H:%M:%S")
    assert first.startswith(local) and second.startswith(local)
    assert "projects/p/locations/us/batchPredictionJobs/1234567890" in first  # full id
    assert "pending 1,204 of 5,000" in first and "accepted → cancelling" in first
    assert "failed (sent?)" in second and "—" in second
    assert len(second.split("failed (sent?)")[1].strip().lstrip("—").strip()) <= 60  # message cut


def test_cli_json(capsys) -> None:
    log = AuditLog(source="cli")
    written = _record(log)
    code, out, _ = _run(capsys, "--json")
    assert code == 0
    assert json.loads(out) == [written.to_dict()]


def test_cli_json_empty_is_an_empty_array(capsys) -> None:
    code, out, _ = _run(capsys, "--json")
    assert code == 0 and json.loads(out) == []


def test_cli_since(capsys) -> None:
    log = AuditLog(source="cli")
    now = dt.datetime.now(dt.UTC).timestamp()
    _record(log, batch_id="old_one", now=now - 3 * 3600)
    _record(log, batch_id="new_one", now=now - 600)
    code, out, _ = _run(capsys, "--since", "2h", "--json")
    assert code == 0 and [r["batch_id"] for r in json.loads(out)] == ["new_one"]
    code, out, _ = _run(capsys, "--since", "1m")
    assert code == 0 and "no cancel attempts recorded in that period" in out


def test_cli_bad_since_is_a_usage_error(capsys) -> None:
    code, out, err = _run(capsys, "--since", "\x1b[31mlast tuesday")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--since takes a duration" in err and "\x1b" not in err


def test_cli_reports_skipped_lines(capsys) -> None:
    log = AuditLog(source="cli")
    _record(log)
    with open(log.path, "ab") as f:
        f.write(b'{"time": "2026-11-25T20:1')
    code, out, err = _run(capsys)
    assert code == 0 and "batch_6f1c" in out
    assert "1 unreadable line(s)" in err and str(log.path) in err


def test_cli_unreadable_file_exits_1(capsys) -> None:
    path = audit_path()
    path.mkdir(parents=True)  # a directory where the file should be
    code, _, err = _run(capsys)
    assert code == 1 and str(path) in err


def test_cli_escapes_hostile_strings(capsys) -> None:
    log = AuditLog(source="cli")
    _record(
        log,
        batch_id="batch_\u202eevil\x1b]0;pwned\x07",
        outcome="refused",
        status_after=None,
        message="\x1b[2J\x1b[Hcleared \u202ereversed",
    )
    for argv in ((), ("--json",)):
        code, out, _ = _run(capsys, *argv)
        assert code == 0
        assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    code, out, _ = _run(capsys)
    assert "batch_\\u202eevil\\x1b]0;pwned\\x07" in out and "\\x1b[2J\\x1b[Hcleared" in out


def test_cli_unreadable_log_is_exit_1_naming_the_file(capsys) -> None:
    """An audit log that cannot be read is an environment failure (exit 1), not a usage error."""
    path = audit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir()  # a directory where the log should be: reading it fails with EISDIR
    code, out, err = _run(capsys)
    assert code == 1 and out == ""
    assert f"cannot read the audit log {path}" in err

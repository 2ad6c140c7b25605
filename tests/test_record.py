"""Recordings (tui.record): format round trip, privacy, crash durability, rotation, follow, dedupe."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tui.record import (
    REDACTED,
    Cancel,
    Header,
    Poll,
    PollFailed,
    ReadStats,
    Recorder,
    RecordingError,
    default_recording_path,
    follow_recording,
    read_recording,
    recording_files,
    rotated_path,
)

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sk-bf-0f3c9a7e-5b1d-4c2e-9f8a-7d6e5c4b1a2b"
PROFILES = [{"name": "prod", "base_url": "https://gw.example", "api": "bifrost", "providers": ["openai"]}]
T0 = 1764050000.0


def wire_batch(n: int, rng: random.Random | None = None, **extra: Any) -> dict[str, Any]:
    """A batch as an OpenAI-compatible gateway sends it (random ids, as real ones are)."""
    rng = rng or random.Random(n)
    return {
        "id": f"batch_{rng.getrandbits(96):024x}",
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "input_file_id": f"file-{rng.getrandbits(96):024x}",
        "status": rng.choice(["validating", "in_progress", "finalizing", "completed"]),
        "created_at": int(T0) - rng.randrange(86400),
        "request_counts": {"total": 5000, "completed": rng.randrange(5000), "failed": rng.randrange(20)},
        "metadata": {"job": f"eval-{n}", "owner": rng.choice(["ana", "bo", "cy"])},
        **extra,
    }


def new_recorder(path: Path, **options: Any) -> Recorder:
    rec = Recorder(path, **options)
    rec.header(profiles=PROFILES, started_at=T0, app_version="0.1.0")
    return rec


def write_every_type(rec: Recorder) -> None:
    rec.poll(at=T0 + 2.1, profile="prod", provider="openai", batches=[wire_batch(1), wire_batch(2)], kind="page_one")
    rec.poll(at=T0 + 3, profile="prod", provider="openai", batches=[wire_batch(3)], kind="history_page")
    rec.poll(at=T0 + 4, profile="prod", provider="openai", batches=[wire_batch(1)], kind="retrieve")
    rec.poll_failed(
        at=T0 + 5,
        profile="prod",
        provider="openai",
        error={"status": 503, "message": "gateway unavailable", "short": "503"},
    )
    rec.cancel(
        at=T0 + 6, profile="prod", provider="openai", batch_id="batch_1", outcome="accepted", message="ok", status=200
    )
    rec.cancel(at=T0 + 7, profile="prod", provider="openai", batch_id="batch_2", outcome="failed", message="timed out")


def decompressed(path: Path) -> bytes:
    """Every byte the file decompresses to, closed or not (no gzip module: it wants the trailer)."""
    return zlib.decompressobj(wbits=31).decompress(path.read_bytes())


def gzip_lines(path: Path, *objects: Any) -> Path:
    path.write_bytes(gzip.compress(b"".join(json.dumps(o).encode() + b"\n" for o in objects)))
    return path


# -- the format ---------------------------------------------------------------------------


def test_every_record_type_round_trips(tmp_path: Path) -> None:
    with new_recorder(tmp_path / "r.ndjson.gz") as rec:
        write_every_type(rec)
    reader = read_recording(tmp_path / "r.ndjson.gz")
    records = list(reader)

    assert records == [
        Header(at=T0, started_at=T0, app_version="0.1.0", profiles=tuple(PROFILES), part=0),
        Poll(at=T0 + 2.1, profile="prod", provider="openai", kind="page_one", batches=(wire_batch(1), wire_batch(2))),
        Poll(at=T0 + 3, profile="prod", provider="openai", kind="history_page", batches=(wire_batch(3),)),
        Poll(at=T0 + 4, profile="prod", provider="openai", kind="retrieve", batches=(wire_batch(1),)),
        PollFailed(
            at=T0 + 5,
            profile="prod",
            provider="openai",
            error={"status": 503, "message": "gateway unavailable", "short": "503"},
        ),
        Cancel(T0 + 6, "prod", "openai", "batch_1", "accepted", "ok", 200),
        Cancel(T0 + 7, "prod", "openai", "batch_2", "failed", "timed out", None),
    ]
    assert all(isinstance(r.at, float) for r in records)
    assert reader.stats == ReadStats(records=7)  # closed: the stream has its end


def test_lines_are_compact_versioned_json_and_the_closed_file_is_plain_gzip(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    with new_recorder(path, dedupe=False) as rec:
        write_every_type(rec)
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()  # any gzip tool reads it
    assert len(lines) == 7
    objects = [json.loads(line) for line in lines]
    assert [o["type"] for o in objects] == ["header", "poll", "poll", "poll", "poll_failed", "cancel", "cancel"]
    assert all(o["v"] == 1 and isinstance(o["at"], float) for o in objects)
    assert all(": " not in line and ", " not in line for line in lines[4:])
    assert objects[1]["batches"] == [wire_batch(1), wire_batch(2)]  # as the gateway sent them


def test_the_recorder_refuses_what_the_format_does_not_know(tmp_path: Path) -> None:
    rec = new_recorder(tmp_path / "r.ndjson.gz")
    with pytest.raises(ValueError, match="page_one"):
        rec.poll(at=T0, profile="prod", provider="openai", batches=[], kind="everything")
    with pytest.raises(ValueError, match="accepted"):
        rec.cancel(at=T0, profile="prod", provider="openai", batch_id="b", outcome="maybe")
    rec.close()
    rec.close()  # idempotent
    with pytest.raises(RecordingError, match="closed"):
        rec.poll(at=T0, profile="prod", provider="openai", batches=[], kind="page_one")


def test_an_existing_file_is_never_appended_to_or_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    path.write_bytes(b"someone else's")
    with pytest.raises(RecordingError, match="already exists") as caught:
        Recorder(path)
    assert str(path) in caught.value.message
    assert path.read_bytes() == b"someone else's"
    link = tmp_path / "link.ndjson.gz"
    link.symlink_to(tmp_path / "elsewhere")  # O_EXCL does not follow it
    with pytest.raises(RecordingError):
        Recorder(link)
    assert not (tmp_path / "elsewhere").exists()


# -- privacy -------------------------------------------------------------------------------


def test_files_are_0600_and_new_folders_0700_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "state" / "recordings" / "r.ndjson.gz"
    old = os.umask(0)
    try:
        with new_recorder(path, max_bytes=600) as rec:
            for n in range(10):
                rec.poll(at=T0 + n, profile="prod", provider="openai", batches=[wire_batch(n)], kind="page_one")
    finally:
        os.umask(old)
    assert len(recording_files(path)) >= 3  # rotated files too
    for file in recording_files(path):
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    for folder in (path.parent, path.parent.parent):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


def test_the_key_never_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    quoted = 'key"with\\quotes'
    rec = Recorder(path, secrets=[SECRET, quoted, "", "abc"])  # too short ones are ignored
    rec.header(
        profiles=[{"name": "prod", "base_url": f"https://gw.example/?key={SECRET}"}], started_at=T0, app_version="0.1"
    )
    leaky = wire_batch(1, metadata={"note": f"Bearer {SECRET}", SECRET: "as a key", "q": f"x{quoted}y"})
    rec.poll(at=T0 + 1, profile="prod", provider="openai", batches=[leaky], kind="page_one")
    rec.poll_failed(at=T0 + 2, profile="prod", provider="openai", error={"status": 401, "message": f"bad key {SECRET}"})
    rec.cancel(at=T0 + 3, profile="prod", provider="openai", batch_id="b", outcome="refused", message=f"no: {SECRET}")

    rec.poll_failed(at=T0 + 4, profile="prod", provider="openai", error={"short": "abc"})

    raw = decompressed(path)  # not closed: what is on disk now
    assert SECRET.encode() not in raw
    assert json.dumps(quoted)[1:-1].encode() not in raw and quoted.encode() not in raw
    assert b'"short":"abc"' in raw  # a "secret" that short would redact ordinary words: ignored
    records = list(read_recording(path))
    assert len(records) == 5
    poll = records[1]
    assert isinstance(poll, Poll)
    assert poll.batches[0]["metadata"] == {"note": f"Bearer {REDACTED}", REDACTED: "as a key", "q": f"x{REDACTED}y"}
    assert isinstance(records[2], PollFailed) and records[2].error["message"] == f"bad key {REDACTED}"
    assert isinstance(records[3], Cancel) and records[3].message == f"no: {REDACTED}"
    rec.close()
    assert SECRET.encode() not in gzip.decompress(path.read_bytes())


def test_a_secret_outside_any_string_still_never_lands(tmp_path: Path) -> None:
    """A key that looks like a number is replaced in the line itself: that line no longer
    parses (the reader counts it), but the digits are not on disk."""
    path = tmp_path / "r.ndjson.gz"
    with Recorder(path, secrets=["98765"]) as rec:
        rec.cancel(at=98765.0, profile="prod", provider="openai", batch_id="b", outcome="accepted", status=200)
        rec.cancel(at=1.0, profile="prod", provider="openai", batch_id="b", outcome="accepted", status=200)
    assert b"98765" not in gzip.decompress(path.read_bytes())
    reader = read_recording(path)
    assert [r.at for r in reader] == [1.0]
    assert reader.stats.malformed == 1


# -- durability ----------------------------------------------------------------------------


def test_a_file_never_closed_reads_up_to_its_last_record(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    rec = new_recorder(path)
    write_every_type(rec)
    before_last = rec.size
    rec.poll(at=T0 + 9, profile="prod", provider="openai", batches=[wire_batch(n) for n in range(40)], kind="page_one")
    end = rec.size
    copy = tmp_path / "copy.ndjson.gz"
    shutil.copyfile(path, copy)  # as a crash would leave it: no gzip trailer

    reader = read_recording(copy)
    records = list(reader)
    assert len(records) == 8 and records[-1].at == T0 + 9
    assert reader.stats.unterminated == 1 and reader.stats.torn == 0

    data = copy.read_bytes()
    assert end - before_last > 100
    for cut in (before_last + 1, before_last + 7, (before_last + end) // 2, end - 30):
        copy.write_bytes(data[:cut])  # the writer killed while writing the last record
        torn = read_recording(copy)
        assert [r.at for r in torn] == [r.at for r in records[:-1]], cut
        assert torn.stats.skipped <= 1
    for cut in range(end - 8, end):  # into the sync-flush marker: the record itself may be whole
        copy.write_bytes(data[:cut])
        ats = [r.at for r in read_recording(copy)]
        assert ats in ([r.at for r in records[:-1]], [r.at for r in records]), cut
    copy.write_bytes(data[:before_last])  # killed just after a flush: nothing torn
    assert len(list(read_recording(copy))) == 7
    rec.close()


def test_a_killed_writer_loses_nothing_written(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    code = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT)!r})
from tui.record import Recorder
rec = Recorder({str(path)!r})
rec.header(profiles=[], started_at=1.0, app_version="x")
for n in range(50):
    rec.poll(at=float(n), profile="p", provider="openai", batches=[{{"id": f"b{{n}}", "n": n}}], kind="page_one")
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    records = list(read_recording(path))
    assert len(records) == 51 and records[-1].at == 49.0


# -- rotation ------------------------------------------------------------------------------


def fill(rec: Recorder, polls: int, start: int = 0) -> list[float]:
    """Polls of fresh, incompressible batches; the times written."""
    times = []
    for n in range(start, start + polls):
        rec.poll(at=T0 + n, profile="prod", provider="openai", batches=[wire_batch(n)], kind="page_one")
        times.append(T0 + n)
    return times


def test_rotation_by_size_keeps_every_file_standing_alone(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    with new_recorder(path, max_bytes=800, keep=50) as rec:
        times = fill(rec, 40)
    files = recording_files(path)
    assert len(files) >= 5
    assert files[-1] == path
    assert files[:-1] == [rotated_path(path, n) for n in range(len(files) - 1, 0, -1)]  # oldest first
    assert all(f.name.startswith("r.ndjson.gz") for f in files)

    parts = []
    for file in files:
        alone = list(read_recording(file))
        assert isinstance(alone[0], Header) and alone[0].profiles == tuple(PROFILES)
        assert alone[0].started_at == T0
        parts.append(alone[0].part)
        assert file.stat().st_size <= 800 + 300  # rotated just after passing the limit
        gzip.decompress(file.read_bytes())  # closed properly: trailer and all
    assert parts == list(range(len(files)))

    whole = read_recording(path, include_rotated=True)
    records = list(whole)
    assert [r.at for r in records if isinstance(r, Poll)] == times  # nothing lost, in order
    assert sum(isinstance(r, Header) for r in records) == len(files)
    assert [r.at for r in read_recording(path)] == [r.at for r in list(read_recording(files[-1]))]  # just that file


def test_rotation_keeps_only_keep_files(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    with new_recorder(path, max_bytes=1000, keep=2) as rec:
        times = fill(rec, 30)
    assert recording_files(path) == [rotated_path(path, 2), rotated_path(path, 1), path]
    assert not rotated_path(path, 3).exists()
    kept = [r.at for r in read_recording(path, include_rotated=True) if isinstance(r, Poll)]
    assert kept == times[-len(kept) :]  # the newest, contiguous: the oldest files dropped
    with new_recorder(tmp_path / "z.ndjson.gz", max_bytes=1000, keep=0) as rec:
        fill(rec, 10)
    assert recording_files(tmp_path / "z.ndjson.gz") == [tmp_path / "z.ndjson.gz"]


def test_dedupe_state_starts_afresh_in_each_file(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    page = [wire_batch(n) for n in range(5)]
    with new_recorder(path, max_bytes=2500, keep=50) as rec:
        for n in range(60):
            rec.poll(at=T0 + n, profile="prod", provider="openai", batches=page, kind="page_one")
            rec.poll(at=T0 + n, profile="prod", provider="openai", batches=page[2:3], kind="retrieve")
            fill(rec, 1, start=100 + n)  # something new, to fill the files
    files = recording_files(path)
    assert len(files) > 3
    for file in files:
        reader = read_recording(file)
        polls = [r for r in reader if isinstance(r, Poll) and r.kind == "retrieve"]
        assert polls and all(p.batches == (page[2],) for p in polls)
        assert reader.stats.skipped == 0 and reader.stats.unresolved == 0


# -- reading what is not a recording ------------------------------------------------------


def test_not_gzip_empty_or_missing_is_a_clear_error(tmp_path: Path) -> None:
    cases = {
        "text.ndjson.gz": b'{"v":1,"type":"header"}\n',
        "empty.ndjson.gz": b"",
        "png.ndjson.gz": b"\x89PNG\r\n\x1a\n",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(RecordingError) as caught:
            list(read_recording(tmp_path / name))
        assert name in caught.value.message and "\n" not in caught.value.message
    with pytest.raises(RecordingError, match="no such recording"):
        list(read_recording(tmp_path / "missing.ndjson.gz"))
    with pytest.raises(RecordingError, match="no such recording"):
        list(read_recording(tmp_path / "missing.ndjson.gz", include_rotated=True))


def test_damaged_compressed_data_is_a_clear_error_after_the_good_records(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    with new_recorder(path, dedupe=False) as rec:
        fill(rec, 3)
        good = rec.size  # a sync flush ends here: the next block starts on this byte
        fill(rec, 20, start=3)
    data = bytearray(path.read_bytes())
    data[good : good + 40] = bytes(40)  # a stored block whose lengths do not match
    path.write_bytes(bytes(data))
    seen: list[Any] = []
    with pytest.raises(RecordingError, match="damaged") as caught:
        for record in read_recording(path):
            seen.append(record)
    assert str(path) in caught.value.message
    assert [type(r) for r in seen] == [Header, Poll, Poll, Poll]  # all before the damage


def test_unknown_types_versions_and_bad_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson.gz"
    path.write_bytes(
        gzip.compress(
            b"\n".join(
                [
                    b'{"v":1,"type":"header","at":1,"started_at":1,"app_version":"9","profiles":[],"new_field":[1]}',
                    b'{"v":1,"type":"hologram","at":2}',
                    b'{"v":2,"type":"poll","at":3,"whatever":true}',
                    b'{"v":1,"type":"cancel","at":"noon"}',
                    b"not json at all",
                    b"\xff\xfe not utf-8",
                    b"[1,2,3]",
                    b"",
                    b'{"v":1,"type":"poll_failed","at":4,"profile":"p","provider":"q","error":{}}',
                    b'{"v":1,"type":"cancel","at":5,"profile":"p","provider":"q","batch_id":"b","outcome":"accepted"',
                ]
            )
        )
    )
    reader = read_recording(path)
    records = list(reader)
    assert [type(r) for r in records] == [Header, PollFailed]
    assert (reader.stats.unknown_type, reader.stats.unknown_version) == (1, 1)
    assert reader.stats.malformed == 4
    assert reader.stats.torn == 1  # the last line lacks its newline
    assert reader.stats.skipped == 7


def test_references_to_nothing_are_counted_not_invented(tmp_path: Path) -> None:
    poll = {"v": 1, "type": "poll", "at": 1, "profile": "p", "provider": "q", "kind": "page_one"}
    path = gzip_lines(
        tmp_path / "refs.ndjson.gz",
        {**poll, "batches": [{"id": "b1", "same": True}, {"id": "b2", "n": 1}]},
        {**poll, "kind": "retrieve", "same_page": True},  # no retrieve page before it
        {"v": 1, "type": "header", "at": 2, "started_at": 2, "app_version": "x", "profiles": []},
        {**poll, "batches": [{"id": "b2", "same": True}]},  # the header forgot b2
    )
    reader = read_recording(path)
    polls = [r for r in reader if isinstance(r, Poll)]
    assert [p.batches for p in polls] == [
        ({"id": "b1", "same": True}, {"id": "b2", "n": 1}),
        ({"id": "b2", "same": True},),
    ]
    assert reader.stats.unresolved == 2 and reader.stats.malformed == 1


def test_recording_files_lists_only_the_rotated_set(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    for name in ("r.ndjson.gz", "r.ndjson.gz.1", "r.ndjson.gz.10", "r.ndjson.gz.2", "r.ndjson.gz.01", "r.ndjson.gz.0"):
        (tmp_path / name).write_bytes(b"")
    for name in ("r.ndjson.gz.bak", "r.ndjson.gz.1.tmp", "x.ndjson.gz.1", "r.ndjson.gz.\u0663"):
        (tmp_path / name).write_bytes(b"")
    assert [f.name for f in recording_files(path)] == [
        "r.ndjson.gz.10",
        "r.ndjson.gz.2",
        "r.ndjson.gz.1",
        "r.ndjson.gz",
    ]
    assert recording_files(tmp_path / "none" / "r.ndjson.gz") == []


def test_concatenated_gzip_members_read_as_one_file(tmp_path: Path) -> None:
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    with new_recorder(a) as rec:
        fill(rec, 2)
    with new_recorder(b) as rec:
        fill(rec, 2, start=2)
    both = tmp_path / "both.ndjson.gz"
    both.write_bytes(a.read_bytes() + b.read_bytes())
    assert [r.at for r in read_recording(both) if isinstance(r, Poll)] == [T0, T0 + 1, T0 + 2, T0 + 3]


# -- follow ---------------------------------------------------------------------------------


class Script:
    """An injected sleep that, instead of sleeping, does the next step of a test's script."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.steps:
            self.steps.pop(0)()

    def done(self) -> bool:
        return not self.steps


def test_follow_yields_records_as_the_file_grows_and_across_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "live.ndjson.gz"
    box: dict[str, Any] = {}

    def start() -> None:
        box["rec"] = new_recorder(path, max_bytes=600, keep=5)

    def grow() -> None:
        fill(box["rec"], 2)

    def rotate() -> None:  # exactly once: past max_bytes, renamed .1, a new file with the header
        n = 2
        while len(recording_files(path)) == 1:
            fill(box["rec"], 1, start=n)
            n += 1
        box["next"] = n

    def more() -> None:
        fill(box["rec"], 1, start=box["next"])

    script = Script(lambda: None, start, grow, lambda: None, rotate, more)
    followed = list(follow_recording(path, poll_interval=0.25, sleep=script.sleep, stop=script.done))
    box["rec"].close()

    assert script.sleeps and set(script.sleeps) == {0.25}
    written = list(read_recording(path, include_rotated=True))
    assert followed == written  # every record once, in order, the headers of each file too
    assert [r.at for r in followed if isinstance(r, Poll)] == [T0 + n for n in range(box["next"] + 1)]
    assert [r.part for r in followed if isinstance(r, Header)] == [0, 1]


def test_follow_waits_for_the_rest_of_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "live.ndjson.gz"
    compressor = zlib.compressobj(wbits=31)
    line = json.dumps({"v": 1, "type": "poll_failed", "at": 1, "profile": "p", "provider": "q", "error": {}}).encode()
    handle = path.open("wb")

    def write(data: bytes) -> None:
        handle.write(compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))
        handle.flush()

    write(line[:20])
    seen: list[Any] = []
    script = Script(lambda: None, lambda: write(line[20:] + b"\n"), lambda: None)
    for record in follow_recording(path, sleep=script.sleep, stop=script.done):
        seen.append((len(script.sleeps), record))
    handle.close()
    assert [n for n, _ in seen] == [2]  # not before the newline arrived
    assert isinstance(seen[0][1], PollFailed)


def test_follow_waits_for_the_file_and_stops_on_an_event(tmp_path: Path) -> None:
    path = tmp_path / "later.ndjson.gz"
    stop = threading.Event()
    recs: list[Recorder] = []
    script = Script(lambda: None, lambda: recs.append(new_recorder(path)), lambda: None, stop.set)
    followed = list(follow_recording(path, sleep=script.sleep, stop=stop.is_set))
    assert [type(r) for r in followed] == [Header]
    recs[0].close()


def test_follow_a_file_that_is_not_a_recording_raises(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(RecordingError, match="not gzip"):
        list(follow_recording(path, sleep=lambda _: None, stop=lambda: True))


def test_stopping_the_consumer_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    with new_recorder(path) as rec:
        fill(rec, 3)
    follower: Iterator[Any] = follow_recording(path, sleep=lambda _: None)
    assert isinstance(next(follower), Header)
    follower.close()  # GeneratorExit: the finally closes the handle, no ResourceWarning


# -- size ------------------------------------------------------------------------------------


def test_dedupe_keeps_a_quiet_board_small_and_reads_back_whole(tmp_path: Path) -> None:
    rng = random.Random(13)
    page = [wire_batch(n, rng) for n in range(1000)]
    sizes = {}
    for dedupe in (True, False):
        path = tmp_path / f"dedupe-{dedupe}.ndjson.gz"
        with new_recorder(path, dedupe=dedupe) as rec:
            for n in range(100):
                rec.poll(at=T0 + n, profile="prod", provider="openai", batches=page, kind="page_one")
        sizes[dedupe] = path.stat().st_size
    assert sizes[True] < 0.05 * sizes[False], sizes

    polls = [r for r in read_recording(tmp_path / "dedupe-True.ndjson.gz") if isinstance(r, Poll)]
    assert len(polls) == 100
    assert all(p.batches == tuple(page) for p in polls)


def test_dedupe_writes_only_what_changed(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    page = [wire_batch(n) for n in range(4)]
    changed = [*page[:2], {**page[2], "status": "completed"}, page[3]]
    with new_recorder(path) as rec:
        rec.poll(at=T0 + 1, profile="prod", provider="openai", batches=page, kind="page_one")
        rec.poll(at=T0 + 2, profile="prod", provider="openai", batches=changed, kind="page_one")
        rec.poll(at=T0 + 3, profile="prod", provider="openai", batches=changed, kind="page_one")
        rec.poll(at=T0 + 4, profile="prod", provider="anthropic", batches=changed, kind="page_one")  # another provider
        rec.poll(at=T0 + 5, profile="prod", provider="openai", batches=[page[2]], kind="retrieve")  # back to the old
        rec.poll(at=T0 + 6, profile="prod", provider="openai", batches=changed[1:], kind="page_one")
    lines = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    assert lines[2]["batches"] == [
        {"id": page[0]["id"], "same": True},
        {"id": page[1]["id"], "same": True},
        changed[2],
        {"id": page[3]["id"], "same": True},
    ]
    assert lines[3] == {**lines[3], "same_page": True} and "batches" not in lines[3]
    assert lines[4]["batches"] == changed  # nothing of anthropic's before
    assert lines[5]["batches"] == [page[2]]
    assert lines[6]["batches"][1] == changed[2]  # the reader holds page[2]'s old status since line 5
    polls = [r for r in read_recording(path) if isinstance(r, Poll)]
    assert [p.batches for p in polls] == [
        tuple(page),
        tuple(changed),
        tuple(changed),
        tuple(changed),
        (page[2],),
        tuple(changed[1:]),
    ]


# -- hostile input ------------------------------------------------------------------------


def test_hostile_strings_do_not_crash_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    nasty = "".join(map(chr, range(32))) + "\x7f\x1b[31m\x1b]0;title\x07\u2028\u2029\ufeff\udc80\ud800 end"
    huge = "x" * 3_000_000 + "\udcff"
    batch = {"id": "batch_\udc80", "name": nasty, nasty: "as a key", "huge": huge, "nan": float("nan"), "set": {1}}
    with Recorder(path, secrets=[SECRET]) as rec:
        rec.header(profiles=[{"name": nasty}], started_at=T0, app_version=nasty)
        rec.poll(at=T0, profile=nasty, provider="openai", batches=[batch], kind="page_one")
        rec.poll(at=T0 + 1, profile=nasty, provider="openai", batches=[batch], kind="page_one")
        rec.poll_failed(at=T0, profile="prod", provider=nasty, error={"message": nasty, "detail": "\udc80" * 10})
        rec.cancel(at=T0, profile="prod", provider="openai", batch_id="\udc80", outcome="failed", message=huge)
        circular: dict[str, Any] = {"id": "loop"}
        circular["self"] = circular
        with pytest.raises(RecordingError, match="JSON"):
            rec.poll(at=T0, profile="prod", provider="openai", batches=[circular], kind="page_one")
        rec.cancel(at=T0 + 9, profile="prod", provider="openai", batch_id="after", outcome="accepted")  # still usable

    raw = gzip.decompress(path.read_bytes())
    raw.decode("utf-8")  # strictly valid UTF-8: the lone surrogates were escaped
    assert raw.count(b"\n") == 6  # control characters escaped: no stray line breaks
    reader = read_recording(path)
    records = list(reader)
    assert reader.stats.skipped == 0 and len(records) == 6
    header, poll, again, failed, cancel, after = records
    assert isinstance(header, Header) and header.app_version == nasty
    assert isinstance(poll, Poll) and poll.profile == nasty
    assert poll.batches[0]["name"] == nasty and poll.batches[0][nasty] == "as a key"
    assert poll.batches[0]["huge"] == huge and poll.batches[0]["set"] == "{1}"
    assert isinstance(again, Poll) and again.batches[0]["name"] == nasty
    assert isinstance(failed, PollFailed) and failed.error["detail"] == "\udc80" * 10
    assert isinstance(cancel, Cancel) and cancel.batch_id == "\udc80" and cancel.message == huge
    assert isinstance(after, Cancel) and after.batch_id == "after"


def test_records_from_several_threads_are_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson.gz"
    rec = new_recorder(path, max_bytes=20_000)

    def worker(k: int) -> None:
        for n in range(50):
            rec.cancel(
                at=T0 + n, profile="prod", provider=f"p{k}", batch_id=f"b{n}", outcome="accepted", message="m" * n
            )

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rec.close()
    reader = read_recording(path, include_rotated=True)
    cancels = [r for r in reader if isinstance(r, Cancel)]
    assert len(cancels) == 200 and reader.stats.skipped == 0


# -- where -------------------------------------------------------------------------------------


def test_default_path_is_in_the_state_folder_named_by_utc_time(hermetic_dirs: Path) -> None:
    import datetime as dt

    from tui.config import state_dir

    path = default_recording_path(T0)
    assert path == state_dir() / "recordings" / "batchtop-20251125-055320.ndjson.gz"
    assert str(path).startswith(str(hermetic_dirs))
    later = dt.datetime(2025, 11, 25, 7, 53, 20, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert default_recording_path(later) == path
    assert not path.parent.exists()  # named, not created
    with new_recorder(path) as rec:
        fill(rec, 1)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

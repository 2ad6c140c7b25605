"""The headless subcommands: list, show, cancel, profiles, sim. No Textual here.

Exit codes: 0 ok, 1 API or network failure (with the gateway's message), 2 usage or
config error. Everything that came from the gateway goes through ``safe_text`` before it
is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from tui.api import Batch, BatchListing, GatewayError, GatewayHTTPError
from tui.config import (
    ConfigError,
    config_path,
    load_config,
    mask_key,
    remove_profile,
    resolve_api_key,
    save_profile,
)
from tui.text.describe import batch_detail_lines, progress_text, status_text
from tui.text.humanize import ago, count
from tui.cli.audit import run_audit
from tui.cli.cancel import run_cancel
from tui.session import Session, open_session
from tui.text.safe import safe_text

EXIT_OK, EXIT_API, EXIT_USAGE = 0, 1, 2


def run(args: argparse.Namespace) -> int:
    command = args.command
    try:
        if command is None:
            return _run_tui(args)
        if command == "sim":
            return _sim(args)
        if command == "profiles":
            return _profiles(args)
        if command == "audit":
            return run_audit(args)
        session = open_session(args)
        for warning in session.profile.provider_warnings():
            _err(f"warning: {warning}")
        if session.tls_unverified:
            _err(f"warning: TLS verification is off for profile '{session.profile_name}' "
                 "(verify_tls = false): the gateway's identity is not checked")
        try:
            handler: Callable[[argparse.Namespace, Session], int] = {
                "list": _list, "show": _show, "cancel": run_cancel,
            }[command]
            return handler(args, session)
        finally:
            session.close()
    except ConfigError as exc:
        _err(exc.message)
        return EXIT_USAGE


def _run_tui(args: argparse.Namespace) -> int:
    from tui.ui.app import run_app  # Textual is imported here and only here

    return run_app(args)


def _err(message: str) -> None:
    print(f"batchtop: {message}", file=sys.stderr)


# -- list ---------------------------------------------------------------------------


LIST_RETRIEVES = 50
"""Batches per provider whose counts ``list`` fetches one by one when the list lacks them."""


async def _gather_listings(session: Session) -> list[BatchListing | GatewayError]:
    async with session.client() as client:
        limit = asyncio.Semaphore(4)

        async def fill(batch: Batch) -> Batch:
            async with limit:
                try:
                    return await client.retrieve(batch.provider, batch.id)
                except GatewayError:
                    return batch  # "—" it is; the list itself did not fail

        async def one(provider: str) -> BatchListing | GatewayError:
            try:
                listing = await client.list_batches(provider)
            except GatewayError as exc:
                return exc
            # Gemini and Bedrock list items carry no counts: fetch them for the newest
            # batches that would show some (not a running Bedrock job: its come at the end).
            wanting = [i for i, b in enumerate(listing.batches) if not b.request_counts.known
                       and (b.finished or b.traits.counts_while_running)][:LIST_RETRIEVES]
            filled = await asyncio.gather(*(fill(listing.batches[i]) for i in wanting))
            for i, batch in zip(wanting, filled):
                listing.batches[i] = batch
            return listing

        return list(await asyncio.gather(*(one(p) for p in session.profile.providers)))


def newest_first(batches: Sequence[Batch]) -> list[Batch]:
    return sorted(batches, key=lambda b: (b.created_at or 0, b.provider, b.id), reverse=True)


def _list(args: argparse.Namespace, session: Session) -> int:
    results = asyncio.run(_gather_listings(session))
    batches: list[Batch] = []
    failed = 0
    for provider, result in zip(session.profile.providers, results):
        if isinstance(result, GatewayError):
            failed += 1
            _err(f"{provider}: {safe_text(result.message, 300)}")
            continue
        batches.extend(result.batches)
        if (shortfall := result.shortfall()) is not None:
            _err(shortfall)
        if result.skipped:
            _err(f"{provider}: {result.skipped} unreadable item(s) in the gateway's answer left out")
    if failed == len(results):
        return EXIT_API  # nothing to show: an empty table would read as "no batches"
    batches = newest_first(batches)
    if args.json:
        json.dump([b.as_wire() for b in batches], sys.stdout, indent=2, ensure_ascii=True)
        sys.stdout.write("\n")
    else:
        print_batch_table(batches, sys.stdout, now=time.time())
    return EXIT_API if failed else EXIT_OK


def print_batch_table(batches: Sequence[Batch], out: TextIO, *, now: float) -> None:
    if not batches:
        print("no batches", file=out)
        return
    header = ("PROVIDER", "STATUS", "ID", "NAME", "PROGRESS", "PENDING", "SUCCEEDED", "FAILED",
              "CANCELED", "AGE")
    rows = []
    for b in batches:
        c = b.request_counts
        rows.append((
            safe_text(b.provider, 12),
            status_text(b),
            safe_text(b.id),  # never shortened: people copy ids from here into `cancel`
            safe_text(b.name or "", 24),
            progress_text(b),
            count(c.pending),
            count(c.succeeded),
            count(c.failed_count),
            count(c.canceled_count),
            ago(b.created_at, now),
        ))
    _print_columns(header, rows, out, right_aligned={5, 6, 7, 8})


def _print_columns(
    header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO, right_aligned: set[int]
) -> None:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right_aligned else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    print(line(header), file=out)
    for row in rows:
        print(line(row), file=out)


# -- show ---------------------------------------------------------------------------


async def _find_batch(session: Session, batch_id: str) -> Batch:
    """Retrieve from the one provider named, or try each provider of the profile."""
    providers = session.profile.providers
    last_error: GatewayError | None = None
    async with session.client() as client:
        for provider in providers:
            try:
                return await client.retrieve(provider, batch_id)
            except GatewayHTTPError as exc:
                if len(providers) > 1 and (exc.is_not_found or exc.status == 400):
                    last_error = exc
                    continue
                raise
    assert last_error is not None
    raise GatewayError(
        f"batch {safe_text(batch_id, 120)} not found on {', '.join(providers)}",
        status=last_error.status,
    )


def _show(args: argparse.Namespace, session: Session) -> int:
    try:
        batch = asyncio.run(_find_batch(session, args.batch_id))
    except GatewayError as exc:
        _err(safe_text(exc.message, 300))
        return EXIT_API
    if args.json:
        json.dump(batch.as_wire(), sys.stdout, indent=2, ensure_ascii=True)
        sys.stdout.write("\n")
    else:
        print_batch_detail(batch, sys.stdout, now=time.time())
    return EXIT_OK


def print_batch_detail(batch: Batch, out: TextIO, *, now: float) -> None:
    lines = batch_detail_lines(batch, now)
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"{label.ljust(width)}  {value}", file=out)


# -- cancel -------------------------------------------------------------------------


# -- profiles -----------------------------------------------------------------------


def _key_source(profile: Any) -> str:
    if profile.api_key_env:
        return f"env {profile.api_key_env}"
    if profile.api_key_cmd:
        return f"command {shlex.quote(profile.api_key_cmd[0])}"
    if profile.api_key is not None:
        return "inline"
    return "none"


def _profiles(args: argparse.Namespace) -> int:
    path = config_path()
    action = args.profiles_action
    if action == "list":
        config = load_config(path)
        if not config.profiles:
            print(f"no profiles in {path}; add one with: batchtop profiles add NAME --base-url URL --provider openai")
            return EXIT_OK
        rows = [
            (
                name + (" *" if name == config.default_profile else ""),
                p.base_url,
                ",".join(p.providers),
                _key_source(p),
                "read-only" if p.read_only else "",
            )
            for name, p in config.profiles.items()
        ]
        _print_columns(("NAME", "BASE_URL", "PROVIDERS", "KEY", "MODE"), rows, sys.stdout, set())
        return EXIT_OK
    if action == "show":
        config = load_config(path)
        name = args.name or getattr(args, "profile", None) or config.default_profile
        if name is None and len(config.profiles) == 1:
            name = next(iter(config.profiles))
        if name is None or name not in config.profiles:
            known = ", ".join(config.profiles) or "none"
            raise ConfigError(f"no profile {name!r} in {path} (profiles: {known})" if name
                              else f"which profile? (profiles: {known})")
        profile = config.profiles[name]
        try:
            key = mask_key(resolve_api_key(profile, profile_name=name, config_path=path))
        except ConfigError as exc:
            key = f"unavailable ({exc.message})"
        rows: list[tuple[str, object]] = [
            ("profile", name + ("  (default)" if name == config.default_profile else "")),
            ("file", path),
        ]
        for field_name in ("base_url", "providers", "interval", "read_only", "protected",
                           "verify_tls", "ca_bundle", "allow_insecure_http", "auth_header", "timeout"):
            value = getattr(profile, field_name)
            rows.append((field_name, ", ".join(value) if isinstance(value, list) else value))
        rows.append(("key", f"{key}  (from {_key_source(profile)})"))
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"{label.ljust(width)}  {value}")
        return EXIT_OK
    if action == "add":
        return _profiles_add(args, path)
    if action == "remove":
        remove_profile(path, args.name)
        print(f"removed profile '{args.name}' from {path}")
        return EXIT_OK
    raise AssertionError(action)


def _profiles_add(args: argparse.Namespace, path: Any) -> int:
    config = load_config(path)
    if args.name in config.profiles and not args.replace:
        raise ConfigError(f"profile '{args.name}' already exists in {path}; pass --replace to overwrite it")
    if not getattr(args, "base_url", None):
        raise ConfigError("profiles add needs --base-url")
    if not getattr(args, "provider", None):
        raise ConfigError("profiles add needs --provider (repeatable)")
    fields: dict[str, Any] = {"base_url": args.base_url, "providers": args.provider}
    optional = {
        "interval": getattr(args, "interval", None),
        "api_key_env": getattr(args, "api_key_env", None),
        "api_key_cmd": args.api_key_cmd,
        "auth_header": args.auth_header,
        "ca_bundle": args.ca_bundle,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    for flag, field_name in (("read_only", "read_only"), ("protected", "protected"),
                             ("allow_insecure_http", "allow_insecure_http")):
        if getattr(args, flag, False):
            fields[field_name] = True
    if args.no_verify_tls:
        fields["verify_tls"] = False
    make_default = args.default or not config.profiles
    save_profile(path, args.name, fields, make_default=make_default)
    print(f"saved profile '{args.name}' to {path}" + (" (default)" if make_default else ""))
    return EXIT_OK


# -- sim ----------------------------------------------------------------------------


def _sim(args: argparse.Namespace) -> int:
    from tui.sim import DEMO_PROVIDERS, serve
    from tui.sim.shapes import NO_BATCH_API

    # --provider picks what to serve (custom names OpenAI-shaped); providers Bifrost has no
    # batch API for are left out, so that the gateway answers unsupported_operation for them.
    named = [p.strip().lower() for p in getattr(args, "provider", None) or []]
    providers = tuple(dict.fromkeys(p for p in named if p and p not in NO_BATCH_API)) or DEMO_PROVIDERS
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise ConfigError(f"environment variable {args.api_key_env} (--api-key-env) is not set")
    if args.batches < 0:
        raise ConfigError("--batches must be 0 or more")
    if args.arrivals < 0 or args.arrivals != args.arrivals:
        raise ConfigError("--arrivals must be 0 (none) or more seconds")
    try:
        return serve(args.host, args.port, seed=args.seed, speed=args.speed, api_key=api_key,
                     verbose=not args.quiet, batches_per_provider=args.batches,
                     arrivals=args.arrivals or None, providers=providers)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        _err(f"sim: cannot listen on {args.host}:{args.port}: {reason}")
        return EXIT_USAGE

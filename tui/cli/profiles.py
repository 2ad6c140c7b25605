"""``batchtop profiles list|show|add|remove``: the connection profiles in the config file.

Keys are never taken on the command line (they would land in shell history) and never
printed whole: ``show`` masks them to their tail.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from tui.cli.exit import ExitCode
from tui.cli.output import print_columns, print_fields
from tui.config import (
    ConfigError,
    Profile,
    config_path,
    load_config,
    mask_key,
    remove_profile,
    resolve_api_key,
    save_profile,
)

SHOWN_FIELDS = (
    "base_url", "api", "providers", "interval", "read_only", "protected", "verify_tls", "ca_bundle",
    "allow_insecure_http", "auth_header", "timeout",
)  # fmt: skip
"""The settings ``profiles show`` prints, in this order (the key comes last, masked)."""


def run_profiles(args: argparse.Namespace) -> int:
    path = config_path()
    action = args.profiles_action
    if action == "list":
        return _list(path)
    if action == "show":
        return _show(args, path)
    if action == "add":
        return _add(args, path)
    if action == "remove":
        remove_profile(path, args.name)
        print(f"removed profile '{args.name}' from {path}")
        return ExitCode.OK
    raise AssertionError(action)


def _key_source(profile: Profile) -> str:
    if profile.api_key_env:
        return f"env {profile.api_key_env}"
    if profile.api_key_cmd:
        return f"command {shlex.quote(profile.api_key_cmd[0])}"
    if profile.api_key is not None:
        return "inline"
    return "none"


def _list(path: Path) -> int:
    config = load_config(path)
    if not config.profiles:
        print(f"no profiles in {path}; add one with: batchtop profiles add NAME --base-url URL --provider openai")
        return ExitCode.OK
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
    print_columns(("NAME", "BASE_URL", "PROVIDERS", "KEY", "MODE"), rows, sys.stdout)
    if config.views:
        print()
        print_columns(("VIEW", "PROFILES"), [(n, ", ".join(v)) for n, v in config.views.items()], sys.stdout)
    return ExitCode.OK


def _show(args: argparse.Namespace, path: Path) -> int:
    config = load_config(path)
    named = getattr(args, "profile", None) or []
    if len(named) > 1:
        raise ConfigError("config error: profiles show takes one profile (--profile was given several times)")
    name = args.name or (named[0] if named else None) or config.default_profile
    if name is None and len(config.profiles) == 1:
        name = next(iter(config.profiles))
    if name is None or name not in config.profiles:
        known = ", ".join(config.profiles) or "none"
        raise ConfigError(
            f"no profile {name!r} in {path} (profiles: {known})" if name else f"which profile? (profiles: {known})"
        )
    profile = config.profiles[name]
    try:
        key = mask_key(resolve_api_key(profile, profile_name=name, config_path=path))
    except ConfigError as exc:
        key = f"unavailable ({exc.message})"
    fields: list[tuple[str, object]] = [
        ("profile", name + ("  (default)" if name == config.default_profile else "")),
        ("file", path),
    ]
    for field_name in SHOWN_FIELDS:
        value = getattr(profile, field_name)
        fields.append((field_name, ", ".join(value) if isinstance(value, list) else value))
    fields.append(("key", f"{key}  (from {_key_source(profile)})"))
    print_fields(fields, sys.stdout)
    return ExitCode.OK


def _add(args: argparse.Namespace, path: Path) -> int:
    config = load_config(path)
    if args.name in config.profiles and not args.replace:
        raise ConfigError(f"profile '{args.name}' already exists in {path}; pass --replace to overwrite it")
    if not getattr(args, "base_url", None):
        raise ConfigError("profiles add needs --base-url")
    api = getattr(args, "api", None)
    if not getattr(args, "provider", None) and api in (None, "bifrost"):
        raise ConfigError("profiles add needs --provider (repeatable), or --api openai / --api anthropic")
    fields: dict[str, Any] = {"base_url": args.base_url}
    if getattr(args, "provider", None):
        fields["providers"] = args.provider
    optional = {
        "api": api,
        "interval": getattr(args, "interval", None),
        "api_key_env": getattr(args, "api_key_env", None),
        "api_key_cmd": args.api_key_cmd,
        "auth_header": args.auth_header,
        "ca_bundle": args.ca_bundle,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    for flag in ("read_only", "protected", "allow_insecure_http"):
        if getattr(args, flag, False):
            fields[flag] = True
    if args.no_verify_tls:
        fields["verify_tls"] = False
    make_default = args.default or not config.profiles
    save_profile(path, args.name, fields, make_default=make_default)
    print(f"saved profile '{args.name}' to {path}" + (" (default)" if make_default else ""))
    return ExitCode.OK

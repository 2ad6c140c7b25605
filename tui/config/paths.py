"""Where batchtop keeps its files.

platformdirs picks the platform's config and state directories and honours XDG_* on
Linux; ``BATCHTOP_CONFIG`` lets a person (or a test) point at another config file.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "batchtop"
CONFIG_ENV_VAR = "BATCHTOP_CONFIG"


def config_path() -> Path:
    """The config file to read and write: ``$BATCHTOP_CONFIG`` if set, else the platform's."""
    override = os.environ.get(CONFIG_ENV_VAR)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def state_dir() -> Path:
    """Directory for things written for later (audit log, state); not created here."""
    return platformdirs.user_state_path(APP_NAME)

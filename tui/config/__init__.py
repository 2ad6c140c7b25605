"""Connection profiles: where they live, how they are checked, read, written and used.

No Textual here: the headless CLI and the tests use this package without an app.
Every failure is a ``ConfigError`` whose ``message`` is one line for a person and whose
the CLI ends on it with exit code 2.
"""

from tui.config.errors import ConfigError
from tui.config.keys import mask_key, resolve_api_key
from tui.config.load import load_config
from tui.config.model import AuthHeader, ConfigFile, Profile
from tui.config.paths import config_path, state_dir
from tui.config.selection import COMMAND_LINE_PROFILE, ProfileOverrides, select_profile
from tui.config.store import remove_profile, save_profile, set_default_profile
from tui.config.transport import check_transport

__all__ = [
    "COMMAND_LINE_PROFILE",
    "AuthHeader",
    "ConfigError",
    "ConfigFile",
    "Profile",
    "ProfileOverrides",
    "check_transport",
    "config_path",
    "load_config",
    "mask_key",
    "remove_profile",
    "resolve_api_key",
    "save_profile",
    "select_profile",
    "set_default_profile",
    "state_dir",
]

"""Connection profiles: paths, loading, messages, keys, transport, selection and writes."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

import pytest

from tui.config import (
    COMMAND_LINE_PROFILE,
    ConfigError,
    ConfigFile,
    Profile,
    ProfileOverrides,
    check_transport,
    config_path,
    keys,
    load_config,
    mask_key,
    remove_profile,
    resolve_api_key,
    save_profile,
    select_profile,
    set_default_profile,
    state_dir,
)

SECRET = "sk-bf-0f3c9a7e-5b1d-4c2e-9f8a-7d6e5c4b1a2b"

HAND_WRITTEN = """\
# comments must survive a rewrite
default_profile = "prod"

# the production gateway
[profiles.prod]
base_url = "https://bifrost.example.com/"
providers = ["OpenAI", "anthropic", "openai"]   # mixed case on purpose
interval = 5.0            # seconds between polls, > 0
read_only = true
api_key_env = "BIFROST_KEY"

[profiles.staging]
base_url = "https://staging.example.com"
providers = ["gemini"]
"""


@pytest.fixture(autouse=True)
def config_dirs_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real ~/.config, at paths these tests can name."""
    monkeypatch.delenv("BATCHTOP_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


def write_config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def profile_text(*extra_lines: str) -> str:
    lines = ["[profiles.prod]", 'base_url = "https://x.example"', 'providers = ["openai"]']
    return "\n".join([*lines, *extra_lines]) + "\n"


def assert_readable(error: ConfigError, *fragments: str) -> None:
    """One line for a person: no traceback, no pydantic dump, no key."""
    message = error.message
    assert str(error) == message
    assert message.startswith("config error: ")
    assert "\n" not in message
    for leak in ("Traceback", "validation error", "Input should", "pydantic", SECRET):
        assert leak not in message
    for fragment in fragments:
        assert fragment in message, message


# --- paths ---------------------------------------------------------------------------


def test_config_path_honours_batchtop_config(tmp_path, monkeypatch):
    monkeypatch.setenv("BATCHTOP_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert config_path() == tmp_path / "elsewhere.toml"


def test_config_path_follows_xdg_when_batchtop_config_is_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("BATCHTOP_CONFIG", "")
    assert config_path() == tmp_path / "xdg-config" / "batchtop" / "config.toml"


def test_state_dir_follows_xdg(tmp_path):
    assert state_dir() == tmp_path / "xdg-state" / "batchtop"


# --- loading -------------------------------------------------------------------------


def test_missing_file_is_an_empty_config(tmp_path):
    config = load_config(tmp_path / "no" / "such" / "config.toml")
    assert config.profiles == {}
    assert config.default_profile is None


def test_load_without_a_path_reads_batchtop_config(tmp_path, monkeypatch):
    path = write_config(tmp_path, HAND_WRITTEN)
    monkeypatch.setenv("BATCHTOP_CONFIG", str(path))
    config = load_config()
    assert config.path == path
    assert config.default_profile == "prod"
    assert list(config.profiles) == ["prod", "staging"]


def test_profile_fields_are_normalised(tmp_path):
    (tmp_path / "ca.pem").write_text("cert")
    path = write_config(
        tmp_path,
        profile_text('ca_bundle = "ca.pem"', "api_key_cmd = \"pass show 'bifrost gw'\"")
        .replace("https://x.example", "https://x.example/")
        .replace('["openai"]', '["OpenAI", " anthropic", "openai"]'),
    )
    profile = load_config(path).profile("prod")
    assert profile.base_url == "https://x.example"
    assert profile.providers == ["openai", "anthropic"]
    assert profile.ca_bundle == tmp_path / "ca.pem"  # relative to the config file
    assert profile.api_key_cmd == ["pass", "show", "bifrost gw"]
    assert (profile.interval, profile.timeout, profile.auth_header) == (5.0, 10.0, "authorization")
    assert (profile.read_only, profile.protected, profile.verify_tls) == (False, False, True)


def test_every_profile_field_is_described():
    assert all(field.description for field in Profile.model_fields.values())


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param(
            "[profiles.prod]\nbase_url = \n",
            ["line 2, column 12: Invalid value"],
            id="bad-toml",
        ),
        pytest.param(
            "[profiles.prod]\nproviders = [\n",
            ["at the end of the file"],
            id="bad-toml-at-end",
        ),
        pytest.param(
            profile_text("intervall = 3"),
            ["line 4, profile 'prod': unknown field 'intervall'", "did you mean 'interval'?"],
            id="unknown-field",
        ),
        pytest.param(
            profile_text('interval = "fast"'),
            ["line 4, profile 'prod', field 'interval': must be a number greater than 0 (got 'fast')"],
            id="wrong-type",
        ),
        pytest.param(
            profile_text("timeout = 0"),
            ["line 4, profile 'prod', field 'timeout': must be a number greater than 0 (got 0)"],
            id="not-positive",
        ),
        pytest.param(
            profile_text('read_only = "yes"'),
            ["field 'read_only': must be true or false (got 'yes')"],
            id="not-a-boolean",
        ),
        pytest.param(
            profile_text('auth_header = "bearer"'),
            ["field 'auth_header': must be one of 'authorization', 'x-bf-vk', 'x-api-key'"],
            id="bad-auth-header",
        ),
        pytest.param(
            '[profiles.prod]\nproviders = ["openai"]\n',
            ["line 1, profile 'prod': base_url is required"],
            id="missing-base-url",
        ),
        pytest.param(
            profile_text().replace('["openai"]', '["openai", "open ai"]'),
            [
                "line 3, profile 'prod', field 'providers'",
                "'open ai' is not a provider name",
            ],
            id="malformed-provider",
        ),
        pytest.param(
            profile_text().replace('["openai"]', "[]"),
            ["field 'providers': must name at least one provider"],
            id="no-providers",
        ),
        pytest.param(
            profile_text().replace("https://x.example", "ftp://x.example"),
            ["line 2, profile 'prod', field 'base_url': must be an http:// or https:// URL"],
            id="bad-url",
        ),
        pytest.param(
            profile_text().replace("https://x.example", "https://x exam ple"),
            ["field 'base_url': must be an http:// or https:// URL with a host"],
            id="space-in-host",
        ),
        pytest.param(
            profile_text().replace("https://x.example", "https://x.example:99999"),
            ["field 'base_url': must be an http:// or https:// URL with a host"],
            id="port-out-of-range",
        ),
        pytest.param(
            profile_text().replace("https://x.example", "http://[::1"),
            ["field 'base_url': must be an http:// or https:// URL with a host (got 'http://[::1')"],
            id="unclosed-ipv6-url",
        ),
        pytest.param(
            profile_text().replace("https://x.example", "https://x.example/v1?team=a"),
            ["field 'base_url': must not have a query or fragment"],
            id="url-with-query",
        ),
        pytest.param(
            profile_text('ca_bundle = "/no/such/ca.pem"'),
            ["field 'ca_bundle'", "/no/such/ca.pem", "does not exist"],
            id="missing-ca-bundle",
        ),
        pytest.param(
            profile_text("api_key_cmd = []"),
            ["field 'api_key_cmd': must name a command"],
            id="empty-command",
        ),
        pytest.param(
            'colour = "blue"\n' + profile_text(),
            ["line 1: unknown top-level key 'colour'"],
            id="unknown-top-level-key",
        ),
        pytest.param(
            '[prod]\nbase_url = "https://x"\n',
            ["line 1: unknown top-level key 'prod'", "[profiles.prod]"],
            id="profile-outside-profiles",
        ),
        pytest.param(
            'default_profile = "stagin"\n' + profile_text(),
            ["line 1: default_profile 'stagin' names no profile", "profiles: prod"],
            id="unknown-default",
        ),
        pytest.param(
            profile_text().replace("[profiles.prod]", '[profiles."my prod"]'),
            ["line 1: profile name 'my prod' may contain only"],
            id="bad-profile-name",
        ),
        pytest.param(
            "[profiles]\nprod = 3\n",
            ["profile 'prod' must be a table"],
            id="profile-not-a-table",
        ),
    ],
)
def test_broken_file_gives_one_readable_message(tmp_path, text, fragments):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_readable(caught.value, f"config error: {path}", *fragments)


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"# ok\n# caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_readable(caught.value, str(path), "line 2", "not UTF-8")


def test_file_that_is_a_directory(tmp_path):
    path = tmp_path / "config.toml"
    path.mkdir()
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_readable(caught.value, str(path), "is a directory")


def test_file_that_cannot_be_read(tmp_path, monkeypatch):
    path = write_config(tmp_path, profile_text())

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)  # chmod 000 does not stop root
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_readable(caught.value, f"cannot read {path}", "permission denied")


def test_unknown_profile_lists_the_known_ones(tmp_path):
    config = load_config(write_config(tmp_path, HAND_WRITTEN))
    with pytest.raises(ConfigError) as caught:
        config.profile("stagin")
    assert_readable(
        caught.value,
        f"config error: no profile 'stagin' in {config.path} (profiles: prod, staging",
        "did you mean 'staging'?",
    )


@pytest.mark.parametrize(
    "secret_line",
    [
        f'api_key = ["{SECRET}"]',  # wrong type: its value must not be quoted back
        f'apikey = "{SECRET}"',  # unknown field
        f'api_key = "{SECRET}"\ninterval = -1',  # another field fails next to a key
    ],
)
def test_inline_key_never_appears_in_messages(tmp_path, secret_line):
    path = write_config(tmp_path, profile_text(secret_line))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_readable(caught.value, str(path))
    assert SECRET not in repr(caught.value)


def test_password_in_base_url_is_refused_without_echoing_it(tmp_path):
    path = write_config(tmp_path, profile_text().replace("https://", "https://ops:hunter2@"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_readable(caught.value, "field 'base_url': must not contain a user name or password")
    assert "hunter2" not in caught.value.message


def test_inline_key_never_appears_in_profile_repr(tmp_path):
    profile = load_config(write_config(tmp_path, profile_text(f'api_key = "{SECRET}"'))).profile("prod")
    for text in (repr(profile), str(profile), profile.model_dump_json()):
        assert SECRET not in text


# --- key resolution ------------------------------------------------------------------


def make_profile(**fields: object) -> Profile:
    return Profile.model_validate({"base_url": "https://x.example", "providers": ["openai"], **fields})


def resolve(profile: Profile, config: Path) -> str | None:
    return resolve_api_key(profile, profile_name="prod", config_path=config)


def test_no_key_source_gives_none(tmp_path):
    assert resolve(make_profile(), tmp_path / "config.toml") is None


def test_key_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BIFROST_KEY", SECRET)
    assert resolve(make_profile(api_key_env="BIFROST_KEY"), tmp_path) == SECRET


@pytest.mark.parametrize("value", [None, ""])
def test_key_from_unset_environment_variable(tmp_path, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("BIFROST_KEY", raising=False)
    else:
        monkeypatch.setenv("BIFROST_KEY", value)
    with pytest.raises(ConfigError) as caught:
        resolve(make_profile(api_key_env="BIFROST_KEY"), tmp_path)
    assert_readable(
        caught.value,
        "environment variable BIFROST_KEY (api_key_env of profile 'prod') is not set",
    )


def test_key_from_command(tmp_path):
    command = [sys.executable, "-c", f"print('{SECRET}'); print('second line')"]
    assert resolve(make_profile(api_key_cmd=command), tmp_path) == SECRET


def test_key_from_command_string_is_split_without_a_shell(tmp_path):
    command = shlex.join([sys.executable, "-c", "print('  sk-bf-test  ')"])
    assert resolve(make_profile(api_key_cmd=command), tmp_path) == "sk-bf-test"


@pytest.mark.parametrize(
    ("script", "fragment"),
    [
        (f"import sys; print('{SECRET}'); sys.exit(3)", "exited with status 3"),
        ("print('')", "printed nothing"),
    ],
)
def test_failing_command_is_named_but_its_output_is_not(tmp_path, script, fragment):
    with pytest.raises(ConfigError) as caught:
        resolve(make_profile(api_key_cmd=[sys.executable, "-c", script]), tmp_path)
    assert_readable(caught.value, "api_key_cmd of profile 'prod'", repr(sys.executable), fragment)
    assert "-c" not in caught.value.message  # argv[0] only: later arguments may be secret


def test_command_not_found(tmp_path):
    with pytest.raises(ConfigError) as caught:
        resolve(make_profile(api_key_cmd=["batchtop-no-such-command", SECRET]), tmp_path)
    assert_readable(caught.value, "'batchtop-no-such-command' was not found")


def test_command_that_hangs_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(keys, "API_KEY_CMD_TIMEOUT", 0.2)
    command = [sys.executable, "-c", "import time; time.sleep(10)"]
    with pytest.raises(ConfigError) as caught:
        resolve(make_profile(api_key_cmd=command), tmp_path)
    assert_readable(caught.value, "did not finish within 0.2 s")


def test_environment_wins_over_command_and_command_over_inline(tmp_path, monkeypatch):
    path = write_config(tmp_path, "")
    monkeypatch.setenv("BIFROST_KEY", "from-env")
    command = [sys.executable, "-c", "print('from-cmd')"]
    everything = make_profile(api_key_env="BIFROST_KEY", api_key_cmd=command, api_key="inline")
    assert resolve(everything, path) == "from-env"
    assert resolve(make_profile(api_key_cmd=command, api_key="inline"), path) == "from-cmd"


def test_inline_key_accepted_when_only_the_owner_can_read(tmp_path):
    path = write_config(tmp_path, profile_text(f'api_key = "{SECRET}"'), mode=0o600)
    profile = load_config(path).profile("prod")
    assert resolve(profile, path) == SECRET


def test_inline_key_refused_when_others_can_read(tmp_path):
    path = write_config(tmp_path, profile_text(f'api_key = "{SECRET}"'), mode=0o644)
    profile = load_config(path).profile("prod")
    with pytest.raises(ConfigError) as caught:
        resolve(profile, path)
    assert_readable(
        caught.value,
        f"config error: {path}: profile 'prod' has an inline api_key but the file is readable "
        f"by others (mode 0644); run chmod 600 {path} or use api_key_env",
    )


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        (None, "(none)"),
        (SECRET, "sk-bf-…1a2b"),
        ("sk-bf-short", "sk-bf-…"),
        ("abcdefgh1a2b", "…1a2b"),
        ("abcdefg1a2b", "…"),
        ("", "…"),
    ],
)
def test_mask_key(key, masked):
    assert mask_key(key) == masked


# --- transport -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://bifrost.example.com",
        "http://localhost:8080",
        "http://LOCALHOST",
        "http://127.0.0.1:9000",
        "http://127.8.9.10",
        "http://[::1]:8080",
    ],
)
def test_transport_allowed(url):
    check_transport(make_profile(base_url=url), profile_name="prod")


@pytest.mark.parametrize("url", ["http://bifrost.example.com", "http://10.0.0.5", "http://[::2]"])
def test_plain_http_to_another_host_is_refused(url):
    with pytest.raises(ConfigError) as caught:
        check_transport(make_profile(base_url=url), profile_name="prod")
    assert_readable(caught.value, "refusing plain http://", "--allow-insecure-http")


def test_plain_http_message_names_the_host():
    with pytest.raises(ConfigError) as caught:
        check_transport(make_profile(base_url="http://bifrost.example.com"), profile_name="prod")
    assert_readable(
        caught.value,
        "refusing plain http:// to bifrost.example.com",
        "the key would cross the network unencrypted; use https://, or set "
        "allow_insecure_http = true in the profile, or pass --allow-insecure-http",
    )


def test_plain_http_opt_in_by_profile_or_flag():
    remote = "http://bifrost.example.com"
    check_transport(make_profile(base_url=remote, allow_insecure_http=True), profile_name="p")
    check_transport(make_profile(base_url=remote), profile_name="p", allow_insecure_http_flag=True)


# --- profile selection ---------------------------------------------------------------


def config_with(*names: str, default: str | None = None) -> ConfigFile:
    profiles = {name: make_profile(base_url=f"https://{name}.example") for name in names}
    return ConfigFile(path=Path("/cfg/config.toml"), profiles=profiles, default_profile=default)


def test_select_by_name():
    name, profile = select_profile(config_with("prod", "staging"), "staging", ProfileOverrides())
    assert (name, profile.base_url) == ("staging", "https://staging.example")


def test_select_unknown_name():
    with pytest.raises(ConfigError) as caught:
        select_profile(config_with("prod", "staging"), "stagin", ProfileOverrides())
    assert_readable(caught.value, "no profile 'stagin' in /cfg/config.toml (profiles: prod, staging")


def test_select_default_then_only_profile():
    assert select_profile(config_with("a", "b", default="b"), None, ProfileOverrides())[0] == "b"
    assert select_profile(config_with("only"), None, ProfileOverrides())[0] == "only"


def test_select_with_several_profiles_and_no_default():
    with pytest.raises(ConfigError) as caught:
        select_profile(config_with("a", "b"), None, ProfileOverrides())
    assert_readable(caught.value, "no profile chosen", "a, b", "--profile", "default_profile")


def test_select_with_no_profiles_explains_how_to_add_one():
    with pytest.raises(ConfigError) as caught:
        select_profile(config_with(), None, ProfileOverrides())
    assert_readable(
        caught.value,
        "no profile chosen: add one with `batchtop profiles add NAME --base-url URL "
        "--provider openai`, or pass --base-url and --provider",
    )


def test_command_line_profile_from_overrides():
    overrides = ProfileOverrides(base_url="http://127.0.0.1:8080/", providers=["OpenAI", "gemini"], interval=1.5)
    name, profile = select_profile(config_with(), None, overrides)
    assert name == COMMAND_LINE_PROFILE
    assert profile.base_url == "http://127.0.0.1:8080"
    assert (profile.providers, profile.interval) == (["openai", "gemini"], 1.5)


def test_command_line_profile_needs_a_provider():
    with pytest.raises(ConfigError) as caught:
        select_profile(config_with(), None, ProfileOverrides(base_url="https://x.example"))
    assert_readable(caught.value, "pass --provider at least once")


def test_overrides_replace_providers_and_keep_the_rest():
    config = config_with("prod", default="prod")
    overrides = ProfileOverrides(providers=["anthropic"], api_key_env="OTHER_KEY", interval=30)
    name, profile = select_profile(config, None, overrides)
    assert name == "prod"
    assert profile.providers == ["anthropic"]
    assert (profile.api_key_env, profile.interval) == ("OTHER_KEY", 30.0)
    assert profile.base_url == "https://prod.example"


def test_read_only_flag_can_only_switch_read_only_on():
    read_only = ConfigFile(Path("/c"), {"prod": make_profile(read_only=True)})
    assert select_profile(read_only, "prod", ProfileOverrides(read_only=False))[1].read_only
    writable = ConfigFile(Path("/c"), {"prod": make_profile()})
    assert select_profile(writable, "prod", ProfileOverrides(read_only=True))[1].read_only


def test_allow_insecure_http_flag_reaches_the_profile():
    config = ConfigFile(Path("/c"), {"lab": make_profile(base_url="http://lab.example")})
    _, profile = select_profile(config, "lab", ProfileOverrides(allow_insecure_http=True))
    check_transport(profile, profile_name="lab")


def test_inline_key_survives_overrides(tmp_path):
    config = ConfigFile(Path("/c"), {"prod": make_profile(api_key=SECRET)})
    _, profile = select_profile(config, "prod", ProfileOverrides(interval=2))
    assert profile.api_key is not None and profile.api_key.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (ProfileOverrides(interval=0), "--interval must be a number greater than 0"),
        (ProfileOverrides(interval=-1), "--interval must be a number greater than 0"),
        (
            ProfileOverrides(providers=["open/ai"]),
            "--provider must name providers: 'open/ai' is not a provider name",
        ),
        (
            ProfileOverrides(base_url="bifrost.example.com"),
            "--base-url must be an http:// or https:// URL",
        ),
        (ProfileOverrides(api_key_env=" "), "--api-key-env must name an environment variable"),
    ],
)
def test_invalid_overrides_name_the_flag(overrides, fragment):
    with pytest.raises(ConfigError) as caught:
        select_profile(config_with("prod"), "prod", overrides)
    assert_readable(caught.value, fragment)
    assert "/cfg/config.toml" not in caught.value.message


# --- writes --------------------------------------------------------------------------

STAGING_V2 = {"base_url": "https://staging2.example.com", "providers": ["gemini", "vertex"]}


def test_save_keeps_comments_and_untouched_profiles(tmp_path):
    path = write_config(tmp_path, HAND_WRITTEN)
    save_profile(path, "lab", {"base_url": "http://127.0.0.1:8080", "providers": ["openai"], "interval": 1.0})
    text = path.read_text()
    assert text.startswith(HAND_WRITTEN)
    assert "[profiles.lab]" in text
    config = load_config(path)
    assert list(config.profiles) == ["prod", "staging", "lab"]
    assert config.profile("lab").interval == 1.0


def test_save_replaces_an_existing_profile_in_place(tmp_path):
    path = write_config(tmp_path, HAND_WRITTEN)
    fields = {"base_url": "https://new.example.com", "providers": ["openai"], "interval": 5.0}
    save_profile(path, "prod", fields)
    text = path.read_text()
    assert "# the production gateway\n[profiles.prod]" in text
    assert "interval = 5.0            # seconds between polls, > 0" in text
    assert "read_only" not in text and "api_key_env" not in text  # keys not given are dropped
    assert text.endswith(HAND_WRITTEN[HAND_WRITTEN.index("[profiles.staging]") :])
    assert load_config(path).profile("prod").base_url == "https://new.example.com"


def test_make_default_on_a_file_without_one_goes_first(tmp_path):
    original = HAND_WRITTEN.replace('default_profile = "prod"\n', "")
    path = write_config(tmp_path, original)
    save_profile(path, "staging", {**STAGING_V2}, make_default=True)
    text = path.read_text()
    assert text.startswith('default_profile = "staging"\n\n# comments must survive a rewrite\n')
    assert "# the production gateway\n[profiles.prod]" in text
    assert load_config(path).default_profile == "staging"


def test_new_file_is_private_and_so_are_new_directories(tmp_path):
    path = tmp_path / "a" / "b" / "config.toml"
    config = save_profile(path, "prod", STAGING_V2, make_default=True)
    assert config.default_profile == "prod"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    assert load_config(path).profile("prod").providers == ["gemini", "vertex"]


def test_path_values_are_written_as_strings(tmp_path):
    ca_bundle = tmp_path / "ca.pem"
    ca_bundle.write_text("cert")
    path = tmp_path / "config.toml"
    save_profile(path, "lab", {**STAGING_V2, "ca_bundle": ca_bundle, "api_key_env": None})
    assert f'ca_bundle = "{ca_bundle}"' in path.read_text()
    assert "api_key_env" not in path.read_text()  # None leaves the key out
    assert load_config(path).profile("lab").ca_bundle == ca_bundle


def test_existing_file_keeps_its_mode(tmp_path):
    path = write_config(tmp_path, HAND_WRITTEN, mode=0o640)
    save_profile(path, "lab", STAGING_V2)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_symlinked_config_is_written_through(tmp_path):
    real = write_config(tmp_path, HAND_WRITTEN)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    save_profile(link, "lab", STAGING_V2)
    assert link.is_symlink()
    assert "lab" in load_config(real).profiles


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_interrupted_write_leaves_the_old_file_untouched(tmp_path, monkeypatch, failing):
    path = write_config(tmp_path, HAND_WRITTEN)
    before = path.read_bytes()

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(ConfigError) as caught:
        save_profile(path, "lab", STAGING_V2)
    monkeypatch.undo()
    assert_readable(caught.value, f"cannot write {path}", "No space left on device")
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [path]


def test_interrupt_during_write_cleans_up(tmp_path, monkeypatch):
    path = write_config(tmp_path, HAND_WRITTEN)
    before = path.read_bytes()

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_profile(path, "lab", STAGING_V2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    ("name", "fields", "fragment"),
    [
        (
            "lab",
            {"base_url": "https://x.example", "providers": ["op nai"]},
            "profile 'lab', field 'providers'",
        ),
        ("lab", {"providers": ["openai"]}, "profile 'lab': base_url is required"),
        ("lab", {**STAGING_V2, "colour": "blue"}, "unknown field 'colour'"),
        ("my lab", STAGING_V2, "profile name 'my lab' may contain only"),
        ("", STAGING_V2, "profile name '' may contain only"),
    ],
)
def test_invalid_save_writes_nothing(tmp_path, name, fields, fragment):
    path = write_config(tmp_path, HAND_WRITTEN)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as caught:
        save_profile(path, name, fields)
    assert_readable(caught.value, fragment)
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [path]


def test_save_into_a_broken_file_reports_it_and_writes_nothing(tmp_path):
    path = write_config(tmp_path, HAND_WRITTEN + "oops = \n")
    before = path.read_bytes()
    with pytest.raises(ConfigError) as caught:
        save_profile(path, "lab", STAGING_V2)
    assert_readable(caught.value, f"{path} line {len(HAND_WRITTEN.splitlines()) + 1}, column 8")
    assert path.read_bytes() == before


def test_inline_key_is_not_written_to_a_file_others_can_read(tmp_path):
    path = write_config(tmp_path, HAND_WRITTEN, mode=0o644)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as caught:
        save_profile(path, "lab", {**STAGING_V2, "api_key": SECRET})
    assert_readable(caught.value, "refusing to write an inline api_key", "mode 0644")
    assert path.read_bytes() == before


def test_inline_key_written_to_a_new_file(tmp_path):
    path = tmp_path / "config.toml"
    save_profile(path, "lab", {**STAGING_V2, "api_key": SECRET})
    assert resolve(load_config(path).profile("lab"), path) == SECRET


def test_remove_profile(tmp_path):
    path = write_config(tmp_path, HAND_WRITTEN)
    config = remove_profile(path, "staging")
    assert list(config.profiles) == ["prod"]
    text = path.read_text()
    assert text.startswith(HAND_WRITTEN[: HAND_WRITTEN.index("[profiles.staging]")].rstrip("\n"))
    assert "staging" not in text


def test_removing_the_default_clears_it(tmp_path):
    path = write_config(tmp_path, HAND_WRITTEN)
    remove_profile(path, "prod")
    config = load_config(path)
    assert config.default_profile is None
    assert list(config.profiles) == ["staging"]
    assert "# comments must survive a rewrite" in path.read_text()


def test_remove_unknown_profile(tmp_path):
    path = write_config(tmp_path, HAND_WRITTEN)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as caught:
        remove_profile(path, "stagin")
    assert_readable(caught.value, f"no profile 'stagin' in {path}")
    assert path.read_bytes() == before


def test_remove_from_a_missing_file(tmp_path):
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as caught:
        remove_profile(path, "prod")
    assert_readable(caught.value, "no profile 'prod'", "no profiles defined")
    assert not path.exists()


def test_set_default_profile(tmp_path):
    path = write_config(tmp_path, HAND_WRITTEN)
    assert set_default_profile(path, "staging").default_profile == "staging"
    assert path.read_text() == HAND_WRITTEN.replace('default_profile = "prod"', 'default_profile = "staging"')
    with pytest.raises(ConfigError) as caught:
        set_default_profile(path, "nope")
    assert_readable(caught.value, "no profile 'nope'")


# -- providers are an open set (issue 8) ----------------------------------------------------


@pytest.mark.parametrize("name", ["siliconflow", "my-gateway.custom_1", "opnai"])
def test_unknown_provider_is_accepted_with_a_warning(name):
    """Bifrost keeps adding batch providers (gigachat, siliconflow, …) and deployments name
    custom ones: a name batchtop does not know is a warning, never a refusal."""
    _, profile = select_profile(config_with("prod"), "prod", ProfileOverrides(providers=["openai", name]))
    assert profile.providers == ["openai", name]
    warnings = profile.provider_warnings()
    assert len(warnings) == 1
    assert f"'{name}' is not one batchtop knows" in warnings[0]
    assert "OpenAI-shaped" in warnings[0]


def test_unknown_provider_warning_suggests_the_close_one():
    _, profile = select_profile(config_with("prod"), "prod", ProfileOverrides(providers=["opnai"]))
    assert "did you mean 'openai'?" in profile.provider_warnings()[0]


def test_known_providers_give_no_warning():
    _, profile = select_profile(
        config_with("prod"), "prod", ProfileOverrides(providers=["openai", "gemini", "vertex", "gigachat"])
    )
    assert profile.provider_warnings() == []

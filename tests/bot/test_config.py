"""Settings from the TOML file and the environment: defaults, overrides, and one-line errors."""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path

import pytest

from bot.config import (
    KNOWN_KEYS,
    CoachSettings,
    ConfigError,
    DatabaseSettings,
    Secret,
    Settings,
    load_settings,
    redacted_url,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"

TELEGRAM_TOKEN = "123456:telegram-secret-token"
SLACK_BOT_TOKEN = "xoxb-slack-secret"
SIGNING_SECRET = "slack-signing-secret"
APP_TOKEN = "xapp-slack-app-secret"
PG_PASSWORD = "pg-hunter2"


def write(tmp_path: Path, text: str) -> Path:
    """A config file holding `text`."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    """Settings from a config file holding `text`."""
    return load_settings(write(tmp_path, text), env or {})


def error_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    """The one-line error message the file holding `text` gives."""
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, env)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("config: ")
    return message


def uncommented_example() -> str:
    """The example with every commented-out `key = value` line switched on."""
    return re.sub(r"(?m)^# (\w+ = .*)$", r"\1", EXAMPLE.read_text(encoding="utf-8"))


# --- the example and the defaults --------------------------------------------------------------


def test_the_example_file_parses_as_it_is() -> None:
    settings = load_settings(EXAMPLE, {})

    assert settings.database.url == "sqlite:///boundarybot.db"
    assert settings.retention_days == 365
    assert settings.log_level == "INFO"
    assert settings.telegram is not None
    assert settings.telegram.mode == "polling"
    assert settings.slack is None
    assert settings.transports() == ("telegram",)
    assert settings.coaches == (
        CoachSettings(
            key="melody",
            name="Melody",
            telegram_user_id="123456789",
            slack_user_id="U0123456789",
            timezone="Europe/London",
            hours="mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00",
            reply_within="24h",
            digest_time="18:00",
        ),
    )


def test_the_example_with_every_optional_value_switched_on_parses(tmp_path: Path) -> None:
    settings = load(tmp_path, uncommented_example())

    assert settings.telegram is not None
    assert settings.telegram.base_url == "http://127.0.0.1:8081/bot"
    assert settings.telegram.webhook_url == "https://bot.example.com/telegram"
    assert settings.telegram.secret_token is not None
    assert settings.slack is not None
    assert settings.slack.api_url == "https://slack.com/api/"
    assert settings.transports() == ("telegram", "slack")
    assert settings.database.url.startswith("sqlite")  # the PostgreSQL line is prose


def test_the_example_documents_every_key_with_a_comment() -> None:
    text = uncommented_example()
    data = tomllib.loads(text)

    documented = {"": set(data)} | {
        name: set(data[name]) for name in KNOWN_KEYS if name and name != "coaches"
    }
    documented["coaches"] = set(data["coaches"][0])
    assert documented == {name: set(keys) for name, keys in KNOWN_KEYS.items()}
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\w+ = ", line):
            assert lines[number - 1].startswith("#"), f"no comment above: {line}"


def test_no_file_gives_the_defaults_and_the_console() -> None:
    settings = load_settings(None, {})

    assert settings == Settings()
    assert settings.database.url == "sqlite:///boundarybot.db"
    assert settings.telegram is None
    assert settings.slack is None
    assert settings.transports() == ()
    assert settings.retention_days == 365
    assert settings.coaches == ()


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, "") == Settings()


def test_telegram_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path, f'[telegram]\ntoken = "{TELEGRAM_TOKEN}"\n')

    telegram = settings.telegram
    assert telegram is not None
    assert telegram.token.reveal() == TELEGRAM_TOKEN
    assert (telegram.mode, telegram.listen, telegram.port) == ("polling", "127.0.0.1", 8443)
    assert (telegram.base_url, telegram.webhook_url, telegram.secret_token) == (None, None, None)


def test_slack_defaults_to_http_mode_on_port_3000(tmp_path: Path) -> None:
    text = f'[slack]\nbot_token = "{SLACK_BOT_TOKEN}"\nsigning_secret = "{SIGNING_SECRET}"\n'

    slack = load(tmp_path, text).slack

    assert slack is not None
    assert (slack.port, slack.api_url, slack.socket_mode) == (3000, None, False)
    assert slack.signing_secret is not None
    assert slack.signing_secret.reveal() == SIGNING_SECRET


def test_a_section_without_its_token_leaves_the_transport_unconfigured(tmp_path: Path) -> None:
    settings = load(tmp_path, "[telegram]\nport = 9000\n[slack]\nport = 4000\n")

    assert (settings.telegram, settings.slack, settings.transports()) == (None, None, ())


def test_webhook_mode_with_everything(tmp_path: Path) -> None:
    text = (
        "[telegram]\n"
        f'token = "{TELEGRAM_TOKEN}"\nmode = "webhook"\n'
        'webhook_url = "https://bot.example.com/tg"\nlisten = "0.0.0.0"\nport = 8080\n'
        'secret_token = "s3cr3t"\n'
    )

    telegram = load(tmp_path, text).telegram

    assert telegram is not None
    assert telegram.mode == "webhook"
    assert (telegram.webhook_url, telegram.listen, telegram.port) == (
        "https://bot.example.com/tg",
        "0.0.0.0",
        8080,
    )
    assert telegram.secret_token == Secret("s3cr3t")


def test_a_coach_needs_only_a_key_and_a_name(tmp_path: Path) -> None:
    settings = load(tmp_path, '[[coaches]]\nkey = "sam"\nname = "Sam"\n')

    assert settings.coaches == (CoachSettings(key="sam", name="Sam"),)
    assert settings.coaches[0].initial_policy() == {}


def test_coach_values_are_normalised(tmp_path: Path) -> None:
    text = (
        '[[coaches]]\nkey = "sam"\nname = "Sam"\ntelegram_user_id = "42"\n'
        'timezone = "europe/london"\nreply_within = " 2D "\ndigest_time = 07:30:00\n'
    )

    (coach,) = load(tmp_path, text).coaches

    assert coach.telegram_user_id == "42"
    assert coach.initial_policy() == {
        "timezone": "Europe/London",
        "reply_within": "2d",
        "digest_time": "07:30",
    }


def test_digest_off_means_no_digest_time(tmp_path: Path) -> None:
    text = '[[coaches]]\nkey = "sam"\nname = "Sam"\ndigest_time = "off"\n'

    (coach,) = load(tmp_path, text).coaches

    assert coach.initial_policy() == {"digest_time": None}


# --- the environment ---------------------------------------------------------------------------


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    text = (
        '[database]\nurl = "sqlite:///file.db"\n'
        '[telegram]\ntoken = "from-file"\n'
        '[slack]\nbot_token = "xoxb-from-file"\nsigning_secret = "from-file"\n'
    )
    env = {
        "BOUNDARYBOT_DATABASE_URL": "postgresql+psycopg://bot@db/boundarybot",
        "BOUNDARYBOT_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "BOUNDARYBOT_SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "BOUNDARYBOT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "BOUNDARYBOT_SLACK_APP_TOKEN": APP_TOKEN,
    }

    settings = load(tmp_path, text, env)

    assert settings.database.url == "postgresql+psycopg://bot@db/boundarybot"
    assert settings.telegram is not None
    assert settings.telegram.token.reveal() == TELEGRAM_TOKEN
    assert settings.slack is not None
    assert settings.slack.bot_token.reveal() == SLACK_BOT_TOKEN
    assert settings.slack.signing_secret == Secret(SIGNING_SECRET)
    assert settings.slack.app_token == Secret(APP_TOKEN)
    assert settings.slack.socket_mode


def test_environment_alone_configures_the_transports() -> None:
    env = {
        "BOUNDARYBOT_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "BOUNDARYBOT_SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "BOUNDARYBOT_SLACK_APP_TOKEN": APP_TOKEN,
    }

    assert load_settings(None, env).transports() == ("telegram", "slack")


def test_an_empty_environment_variable_counts_as_unset(tmp_path: Path) -> None:
    settings = load(
        tmp_path, '[telegram]\ntoken = "from-file"\n', {"BOUNDARYBOT_TELEGRAM_TOKEN": ""}
    )

    assert settings.telegram is not None
    assert settings.telegram.token.reveal() == "from-file"


def test_unrelated_environment_variables_are_ignored() -> None:
    assert load_settings(None, {"BOUNDARYBOT_TELEGRAM_TOKN": "x", "HOME": "/root"}) == Settings()


# --- errors, one line each, naming the key ----------------------------------------------------


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config: file .*nowhere\.toml not found$"):
        load_settings(tmp_path / "nowhere.toml", {})


def test_bad_toml_is_an_error_with_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[telegram]\ntoken = \n")

    assert "is not valid TOML" in message
    assert "line 2" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[telegram]\ntokn = "x"\n',
            'config: unknown key [telegram] "tokn" (did you mean "token"?)',
        ),
        ("retension_days = 30\n", 'config: unknown key "retension_days" (did you mean'),
        ("[telegramm]\n", 'config: unknown key "telegramm" (did you mean "telegram"?)'),
        ('[database]\nuri = "sqlite://"\n', 'config: unknown key [database] "uri"'),
        ('[logging]\nlvl = "DEBUG"\n', 'config: unknown key [logging] "lvl"'),
        ("[slack]\nsocket = true\n", 'config: unknown key [slack] "socket"'),
        (
            '[[coaches]]\nkey = "mel"\nname = "Mel"\ntimezon = "UTC"\n',
            'config: unknown key [[coaches]] "mel" "timezon" (did you mean "timezone"?)',
        ),
    ],
)
def test_an_unknown_key_is_an_error(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text).startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[telegram]\ntoken = "t"\nmode = "poll"\n',
            'config: [telegram] mode must be "polling" or "webhook", not "poll"',
        ),
        (
            '[telegram]\ntoken = "t"\nmode = "webhook"\n',
            'config: [telegram] webhook_url is required when mode = "webhook"',
        ),
        (
            '[telegram]\nwebhook_url = "bot.example.com"\n',
            "config: [telegram] webhook_url must be an http:// or https:// URL, "
            'not "bot.example.com"',
        ),
        ('[telegram]\nport = "8443"\n', 'config: [telegram] port must be an integer, not "8443"'),
        ("[telegram]\nport = true\n", "config: [telegram] port must be an integer, not True"),
        (
            "[telegram]\nport = 70000\n",
            "config: [telegram] port must be a port number between 1 and 65535, not 70000",
        ),
        ("[telegram]\nlisten = 127\n", "config: [telegram] listen must be a string, not 127"),
        ('telegram = "x"\n', 'config: telegram must be a table ([telegram]), not "x"'),
        (
            '[slack]\nbot_token = "xoxb"\n',
            "config: [slack] needs signing_secret (HTTP mode) or app_token (Socket Mode) "
            "besides bot_token",
        ),
        (
            '[slack]\napi_url = "http://127.0.0.1:8888/"\n',
            "config: [slack] api_url must end with /api/ (slack_sdk's base URL), "
            'not "http://127.0.0.1:8888/"',
        ),
        (
            '[database]\nurl = "not a url"\n',
            "config: [database] url must be a database URL like sqlite:///boundarybot.db",
        ),
        ('[logging]\nlevel = "LOUD"\n', "config: [logging] level must be one of DEBUG, INFO"),
        ('retention_days = "1y"\n', 'config: retention_days must be an integer, not "1y"'),
        ("retention_days = 0\n", "config: retention_days must be at least 1, not 0"),
        ('[coaches]\nkey = "a"\n', "config: coaches must be an array of tables ([[coaches]])"),
    ],
)
def test_a_wrong_value_is_an_error_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text).startswith(expected)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ('name = "Mel"', "config: [[coaches]] #1 key is required"),
        ('key = "mel"', 'config: [[coaches]] "mel" name is required'),
        ('key = "mel one"\nname = "Mel"', 'config: [[coaches]] "mel one" key must be 1-64 letters'),
        (
            'key = "mel"\nname = "Mel"\ntimezone = "Europe/Londn"',
            'config: [[coaches]] "mel" timezone must be an IANA time zone like Europe/London, '
            'not "Europe/Londn"',
        ),
        (
            'key = "mel"\nname = "Mel"\nhours = "mon-fri 9-5"',
            'config: [[coaches]] "mel" hours is not valid: ',
        ),
        (
            'key = "mel"\nname = "Mel"\nreply_within = "soon"',
            'config: [[coaches]] "mel" reply_within must be hours of open time like 24h '
            '(at most 336h) or working days like 2d (at most 30d), not "soon"',
        ),
        (
            'key = "mel"\nname = "Mel"\nreply_within = "400h"',
            'config: [[coaches]] "mel" reply_within must be hours of open time like 24h '
            '(at most 336h) or working days like 2d (at most 30d), not "400h"',
        ),
        (
            'key = "mel"\nname = "Mel"\ntimezone = "EST"',
            'config: [[coaches]] "mel" timezone must name a place, like America/New_York, '
            'not "EST"',
        ),
        (
            'key = "mel"\nname = "Mel"\ntimezone = "UTC+5"',
            'config: [[coaches]] "mel" timezone must name a place, like Europe/London, not "UTC+5"',
        ),
        (
            'key = "mel"\nname = "Mel"\nreply_within = 24',
            'config: [[coaches]] "mel" reply_within must be a string, not 24',
        ),
        (
            'key = "mel"\nname = "Mel"\ndigest_time = "6pm"',
            'config: [[coaches]] "mel" digest_time must be a time like "18:00" or "off", not "6pm"',
        ),
        (
            'key = "mel"\nname = "Mel"\ndigest_time = "25:00"',
            'config: [[coaches]] "mel" digest_time must be a time like "18:00" or "off"',
        ),
        (
            'key = "mel"\nname = "Mel"\ntelegram_user_id = "@melody"',
            'config: [[coaches]] "mel" telegram_user_id must be a numeric user id like 123456789, '
            'not "@melody"',
        ),
    ],
)
def test_a_bad_coach_is_an_error_naming_the_coach_and_key(
    tmp_path: Path, lines: str, expected: str
) -> None:
    assert error_of(tmp_path, f"[[coaches]]\n{lines}\n").startswith(expected)


def test_duplicate_coach_keys_are_an_error(tmp_path: Path) -> None:
    text = '[[coaches]]\nkey = "mel"\nname = "Mel"\n[[coaches]]\nkey = "mel"\nname = "Melody"\n'

    assert error_of(tmp_path, text) == (
        'config: [[coaches]] key "mel" is given twice (coaches "mel" and "mel")'
    )


def test_two_coaches_on_one_telegram_account_are_an_error(tmp_path: Path) -> None:
    text = (
        '[[coaches]]\nkey = "a"\nname = "A"\ntelegram_user_id = 7\n'
        '[[coaches]]\nkey = "b"\nname = "B"\ntelegram_user_id = 7\n'
    )

    assert error_of(tmp_path, text) == (
        'config: [[coaches]] telegram_user_id "7" is given twice (coaches "a" and "b")'
    )


# --- secrets ----------------------------------------------------------------------------------

SECRETS = (TELEGRAM_TOKEN, SLACK_BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, PG_PASSWORD, "tg-webhook-s")


def secret_settings(tmp_path: Path) -> Settings:
    """Settings holding every kind of secret."""
    text = '[telegram]\nsecret_token = "tg-webhook-s"\n[database]\nurl = "sqlite:///x.db"\n'
    env = {
        "BOUNDARYBOT_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "BOUNDARYBOT_SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "BOUNDARYBOT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "BOUNDARYBOT_SLACK_APP_TOKEN": APP_TOKEN,
        "BOUNDARYBOT_DATABASE_URL": f"postgresql+psycopg://bot:{PG_PASSWORD}@db:5432/bb",
    }
    return load(tmp_path, text, env)


def test_secrets_never_show_in_repr_or_str(tmp_path: Path) -> None:
    settings = secret_settings(tmp_path)
    assert settings.telegram is not None
    assert settings.slack is not None

    shown = [
        repr(settings),
        str(settings),
        f"{settings}",
        repr(settings.telegram),
        str(settings.telegram.token),
        f"{settings.telegram.token}",
        repr(settings.slack),
        repr(settings.database),
        str(settings.database),
    ]

    for text in shown:
        for secret in SECRETS:
            assert secret not in text
    assert "postgresql+psycopg://bot:***@db:5432/bb" in repr(settings.database)


def test_secrets_never_show_in_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = secret_settings(tmp_path)
    logger = logging.getLogger("boundarybot.test")

    with caplog.at_level(logging.DEBUG):
        logger.info("settings: %s", settings)
        logger.info("settings: %r", settings)
        logger.info("token: %s", settings.telegram.token if settings.telegram else None)

    assert caplog.records
    for secret in SECRETS:
        assert secret not in caplog.text


def test_a_bad_value_from_the_environment_names_the_variable_not_the_value() -> None:
    env = {"BOUNDARYBOT_DATABASE_URL": f"postgres ql://bot:{PG_PASSWORD}@db/bb"}

    with pytest.raises(ConfigError) as caught:
        load_settings(None, env)

    assert str(caught.value) == (
        "config: BOUNDARYBOT_DATABASE_URL must be a database URL like sqlite:///boundarybot.db"
    )


def test_a_secret_of_the_wrong_type_is_not_shown_in_the_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[telegram]\ntoken = 123456789\n")

    assert message == "config: [telegram] token must be a string"


def test_reveal_gives_the_secret_back() -> None:
    secret = Secret("abc")

    assert secret.reveal() == "abc"
    assert secret == Secret("abc")
    assert secret != Secret("abd")
    assert "abc" not in repr(secret)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://bot:pw@db:5432/bb", "postgresql+psycopg://bot:***@db:5432/bb"),
        ("postgresql+psycopg://bot@db/bb", "postgresql+psycopg://bot@db/bb"),
        ("postgresql+psycopg://db/bb?password=pw", "postgresql+psycopg://db/bb?password=***"),
        ("sqlite:///boundarybot.db", "sqlite:///boundarybot.db"),
        ("nonsense", "<unparseable database url>"),
    ],
)
def test_database_urls_are_shown_redacted(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
    assert DatabaseSettings(url).redacted_url() == shown

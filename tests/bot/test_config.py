"""Configuration: validated at start, errors name the variable, the token never shows."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import Secret, Settings, load_settings
from bot.errors import ConfigError

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"


def test_defaults_without_any_variable(tmp_path: Path) -> None:
    settings = load_settings({}, dotenv=tmp_path / ".env")
    assert settings.telegram_token is None
    assert settings.redis_url is None
    assert settings.data_dir == Path("var")
    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    with pytest.raises(ConfigError, match="PAROLE_TELEGRAM_TOKEN"):
        settings.require_token()


def test_every_variable_is_read(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "PAROLE_TELEGRAM_TOKEN": TOKEN,
            "PAROLE_TELEGRAM_API_URL": "http://127.0.0.1:8081/bot",
            "PAROLE_REDIS_URL": "unix:///run/redis/redis.sock?db=2",
            "PAROLE_DATA_DIR": "/srv/parole",
            "PAROLE_WEBHOOK_URL": "https://bot.example.com/hook",
            "PAROLE_WEBHOOK_SECRET": "s3cret_-value",
            "PAROLE_ADMIN_IDS": "1, 2;3",
            "PAROLE_BOT_USERNAME": "@parole_bot",
            "PAROLE_DUPLICATE_WINDOW_HOURS": "12",
            "PAROLE_CONVERSATION_TIMEOUT": "600",
            "PAROLE_MAX_TEXT_LENGTH": "500",
            "PAROLE_LOG_LEVEL": "debug",
            "PAROLE_OUTBOUND_PER_SECOND": "45",
        },
        dotenv=None,
    )
    assert settings.require_token().reveal() == TOKEN
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.bot_username == "parole_bot"
    assert settings.data_dir == Path("/srv/parole")
    assert settings.duplicate_window_hours == 12.0
    assert settings.conversation_timeout == 600.0
    assert settings.max_text_length == 500
    assert settings.log_level == "DEBUG"
    assert settings.outbound_per_second == 45.0


@pytest.mark.parametrize(
    ("url", "cluster"),
    [
        ("redis://localhost:6379/0", False),
        ("unix:///run/redis/redis.sock?db=2", False),
        ("redis+cluster://10.0.0.5:7000", True),
        ("rediss+cluster://:pw@redis.example.com:6380/0", True),
    ],
)
def test_a_redis_cluster_is_named_by_the_url_scheme(url: str, cluster: bool) -> None:
    settings = load_settings({"PAROLE_REDIS_URL": url}, dotenv=None)
    assert settings.redis_url == url
    assert settings.redis_cluster is cluster


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PAROLE_TELEGRAM_TOKEN", "not-a-token"),
        ("PAROLE_TELEGRAM_API_URL", "ftp://example.com/bot"),
        ("PAROLE_REDIS_URL", "localhost:6379"),
        ("PAROLE_REDIS_URL", "unix://"),
        ("PAROLE_REDIS_URL", "redis+cluster://"),
        ("PAROLE_REDIS_URL", "redis+cluster://10.0.0.5"),
        ("PAROLE_REDIS_URL", "redis+cluster://10.0.0.5:port"),
        ("PAROLE_REDIS_URL", "redis+cluster://10.0.0.5:7000/2"),
        ("PAROLE_REDIS_URL", "cluster://10.0.0.5:7000"),
        ("PAROLE_WEBHOOK_URL", "bot.example.com/hook"),
        ("PAROLE_WEBHOOK_SECRET", "has spaces in it"),
        ("PAROLE_ADMIN_IDS", "12,abc"),
        ("PAROLE_BOT_USERNAME", "no spaces allowed"),
        ("PAROLE_DUPLICATE_WINDOW_HOURS", "-1"),
        ("PAROLE_CONVERSATION_TIMEOUT", "soon"),
        ("PAROLE_MAX_TEXT_LENGTH", "0"),
        ("PAROLE_LOG_LEVEL", "LOUD"),
        ("PAROLE_LOG_FORMAT", "xml"),
        ("PAROLE_OUTBOUND_PER_SECOND", "0"),
        ("PAROLE_OUTBOUND_PER_SECOND", "fast"),
        ("PAROLE_OUTBOUND_PER_SECOND", "nan"),
        ("PAROLE_DUPLICATE_WINDOW_HOURS", "inf"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({variable: value}, dotenv=None)
    assert info.value.variable == variable
    assert variable in str(info.value)


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nexport PAROLE_BOT_USERNAME='from_dotenv'\nPAROLE_DATA_DIR=\"/tmp/x\"\n\n", encoding="utf-8"
    )
    settings = load_settings({"PAROLE_DATA_DIR": "/from/env"}, dotenv=dotenv)
    assert settings.bot_username == "from_dotenv"
    assert settings.data_dir == Path("/from/env")


def test_a_broken_dotenv_line_is_named(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("PAROLE_DATA_DIR=/x\nthis is not a setting\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.env:2"):
        load_settings({}, dotenv=dotenv)


def test_the_token_never_shows_in_repr_str_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings({"PAROLE_TELEGRAM_TOKEN": TOKEN, "PAROLE_WEBHOOK_SECRET": "topsecret"}, dotenv=None)
    caplog.set_level(logging.INFO)
    logging.getLogger("parole.test").info("settings: %s %r", settings, settings)
    for text in (repr(settings), str(settings), caplog.text):
        assert TOKEN not in text
        assert "topsecret" not in text
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")
    assert isinstance(settings, Settings)

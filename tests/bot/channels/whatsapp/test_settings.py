"""`PAROLE_WHATSAPP_*`: validated at start, secrets never shown, the channel on only with token and number id;
`parole venue add` / `venue list` print the `wa.me` link when it is on."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.config import load_settings
from bot.errors import ConfigError
from tests.bot.cli.test_main import parole

GOOD = {
    "PAROLE_WHATSAPP_TOKEN": "EAAGm0PX4ZCpsBAabcdefghijklmnop",
    "PAROLE_WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "PAROLE_WHATSAPP_APP_SECRET": "0123456789abcdef0123456789abcdef",
    "PAROLE_WHATSAPP_VERIFY_TOKEN": "my-verify-token",
    "PAROLE_WHATSAPP_NUMBER": "+33 1 80 00 00 00",
}


def test_off_without_token_and_number_id() -> None:
    assert load_settings({}, dotenv=None).whatsapp is None


def test_on_with_every_setting_and_secrets_hidden(caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings({**GOOD, "PAROLE_WHATSAPP_REPLY_TEMPLATE": "parole_reply:en"}, dotenv=None)
    config = settings.whatsapp
    assert config is not None
    assert (config.number, config.reply_template, config.template_language) == ("33180000000", "parole_reply", "en")
    assert config.api_url == "https://graph.facebook.com/v21.0"
    shown = repr(settings)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings: %s", settings)
    for secret in ("PAROLE_WHATSAPP_TOKEN", "PAROLE_WHATSAPP_APP_SECRET", "PAROLE_WHATSAPP_VERIFY_TOKEN"):
        assert GOOD[secret] not in shown and GOOD[secret] not in caplog.text


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"PAROLE_WHATSAPP_PHONE_NUMBER_ID": ""}, "PAROLE_WHATSAPP_PHONE_NUMBER_ID"),
        ({"PAROLE_WHATSAPP_TOKEN": ""}, "PAROLE_WHATSAPP_TOKEN"),
        ({"PAROLE_WHATSAPP_TOKEN": "short"}, "PAROLE_WHATSAPP_TOKEN"),
        ({"PAROLE_WHATSAPP_PHONE_NUMBER_ID": "abc"}, "PAROLE_WHATSAPP_PHONE_NUMBER_ID"),
        ({"PAROLE_WHATSAPP_APP_SECRET": ""}, "PAROLE_WHATSAPP_APP_SECRET"),
        ({"PAROLE_WHATSAPP_VERIFY_TOKEN": ""}, "PAROLE_WHATSAPP_VERIFY_TOKEN"),
        ({"PAROLE_WHATSAPP_NUMBER": ""}, "PAROLE_WHATSAPP_NUMBER"),
        ({"PAROLE_WHATSAPP_NUMBER": "0612"}, "PAROLE_WHATSAPP_NUMBER"),
        ({"PAROLE_WHATSAPP_API_URL": "ftp://graph"}, "PAROLE_WHATSAPP_API_URL"),
        ({"PAROLE_WHATSAPP_REPLY_TEMPLATE": "Bad Name!"}, "PAROLE_WHATSAPP_REPLY_TEMPLATE"),
    ],
)
def test_a_bad_or_missing_value_is_named(changes: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({**GOOD, **changes}, dotenv=None)
    assert named in str(error.value)
    assert GOOD["PAROLE_WHATSAPP_APP_SECRET"] not in str(error.value)


def test_venue_add_and_list_print_the_whatsapp_link(redis_url: str, tmp_path: Path) -> None:
    env = {"PAROLE_REDIS_URL": redis_url, "PAROLE_BOT_USERNAME": "parole_bot", "PAROLE_DATA_DIR": str(tmp_path)}
    assert parole("brand", "add", "quick", "--name", "Quick", env=env, cwd=tmp_path).returncode == 0
    done = parole("venue", "add", "--brand", "quick", "--name", "Quick Massy", env={**env, **GOOD}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    venue = json.loads(done.stdout)
    link = venue["whatsapp_link"]
    assert link.startswith("https://wa.me/33180000000?text=")
    assert f"#{venue['short_code']}" in unquote(link)
    listed = parole("venue", "list", "--brand", "quick", env={**env, **GOOD}, cwd=tmp_path)
    assert [json.loads(line)["whatsapp_link"] for line in listed.stdout.splitlines()] == [link]
    without = parole("venue", "list", "--brand", "quick", env=env, cwd=tmp_path)
    assert "whatsapp_link" not in without.stdout
    assert GOOD["PAROLE_WHATSAPP_TOKEN"] not in done.stdout + done.stderr

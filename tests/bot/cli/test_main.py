"""The `parole` command line, run as a real process: output contract, errors, exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage.identity import CustomerId
from bot.storage.venues import START_PARAMETER_RE
from dialogs.answers import SHORT_CODE_ALPHABET


def parole(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env={**os.environ, **env}, cwd=cwd,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {"PAROLE_REDIS_URL": redis_url, "PAROLE_BOT_USERNAME": "parole_bot", "PAROLE_DATA_DIR": str(tmp_path)}


def test_brand_and_venue_add_print_the_contract(env: dict[str, str], tmp_path: Path) -> None:
    done = parole("brand", "add", "quick", "--name", "Quick", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["code"] == "quick"
    done = parole(
        "venue", "add", "--brand", "quick", "--name", "Quick Massy", "--city", "Massy",
        "--lat", "48.72", "--lon", "2.26", "--qr-dir", str(tmp_path / "qr"), env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    venue = json.loads(done.stdout)
    assert venue["code"] == "quick-massy"
    assert START_PARAMETER_RE.match(venue["token"])
    assert len(venue["short_code"]) == 6 and set(venue["short_code"]) <= set(SHORT_CODE_ALPHABET)
    assert venue["deep_link"] == f"https://t.me/parole_bot?start={venue['token']}"
    assert Path(venue["qr_png"]).read_bytes().startswith(b"\x89PNG")
    assert "<svg" in Path(venue["qr_svg"]).read_text()
    listed = parole("venue", "list", "--brand", "quick", env=env, cwd=tmp_path)
    assert [json.loads(line)["token"] for line in listed.stdout.splitlines()] == [venue["token"]]


def test_a_venue_name_twice_languages_without_templates_and_archiving(env: dict[str, str], tmp_path: Path) -> None:
    assert parole("brand", "add", "quick", "--name", "Quick", env=env, cwd=tmp_path).returncode == 0
    first = parole("venue", "add", "--brand", "quick", "--name", "Quick Massy", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    for args, message in [
        (("--name", "quick  MASSY"), "la marque « quick » a déjà un lieu nommé « Quick Massy » (quick-massy)"),
        (("--name", "Quick Orly", "--language", "de"), "la langue « de » n'est pas possible : au choix fr, en"),
        (("--name", "Quick Orly", "--language", "xx"), "la langue « xx » n'est pas possible"),
    ]:
        refused = parole("venue", "add", "--brand", "quick", *args, env=env, cwd=tmp_path)
        assert refused.returncode == 1 and refused.stderr.startswith("parole : erreur : "), refused.stderr
        assert message in refused.stderr and refused.stdout == "", refused.stderr
    listed = parole("venue", "list", "--brand", "quick", env=env, cwd=tmp_path).stdout.splitlines()
    assert [json.loads(line)["code"] for line in listed] == ["quick-massy"]  # nothing changed
    edited = parole("venue", "edit", "quick-massy", "--brand", "quick", "--language", "de", env=env, cwd=tmp_path)
    assert edited.returncode == 1 and "la langue « de »" in edited.stderr
    forced = parole("venue", "add", "--brand", "quick", "--name", "Quick Massy", "--force", env=env, cwd=tmp_path)
    assert forced.returncode == 0 and json.loads(forced.stdout)["code"] == "quick-massy-2", forced.stderr
    english = parole(
        "venue", "add", "--brand", "quick", "--name", "Quick Oxford", "--language", "en", env=env, cwd=tmp_path
    )
    assert english.returncode == 0 and json.loads(english.stdout)["language"] == "en", english.stderr

    archived = parole("venue", "archive", "quick-massy", "--brand", "quick", env=env, cwd=tmp_path)
    assert archived.returncode == 0 and json.loads(archived.stdout)["archived_at"] > 0, archived.stderr
    listed = parole("venue", "list", "--brand", "quick", env=env, cwd=tmp_path).stdout.splitlines()
    assert [bool(json.loads(line).get("archived_at")) for line in listed] == [True, False, False]
    back = parole("venue", "unarchive", "quick-massy", "--brand", "quick", env=env, cwd=tmp_path)
    assert back.returncode == 0 and "archived_at" not in json.loads(back.stdout)
    brand = parole("brand", "archive", "quick", env=env, cwd=tmp_path)
    assert brand.returncode == 0 and json.loads(brand.stdout)["archived_at"] > 0
    assert "archived_at" not in json.loads(parole("brand", "unarchive", "quick", env=env, cwd=tmp_path).stdout)
    missing = parole("venue", "archive", "nowhere", "--brand", "quick", env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "le lieu « quick/nowhere » n'existe pas" in missing.stderr


def test_venue_edit_refuses_a_name_another_venue_of_the_brand_has(env: dict[str, str], tmp_path: Path) -> None:
    def venues() -> dict[str, tuple[str, str | None]]:
        listed = parole("venue", "list", env=env, cwd=tmp_path).stdout.splitlines()
        return {f"{v['brand']}/{v['code']}": (v["name"], v.get("city")) for v in map(json.loads, listed)}

    def edit(*args: str) -> subprocess.CompletedProcess[str]:
        return parole("venue", "edit", "quick-orly", "--brand", "quick", *args, env=env, cwd=tmp_path)

    for brand, name in (("quick", "Quick"), ("flunch", "Flunch")):
        assert parole("brand", "add", brand, "--name", name, env=env, cwd=tmp_path).returncode == 0
    for brand, name in (("quick", "Quick Massy"), ("quick", "Quick Orly"), ("flunch", "Flunch Massy")):
        assert parole("venue", "add", "--brand", brand, "--name", name, env=env, cwd=tmp_path).returncode == 0
    before = venues()
    refused = edit("--name", "quick  MASSY", "--city", "Orly")
    assert refused.returncode == 1 and refused.stdout == "", refused.stderr
    assert refused.stderr.startswith("parole : erreur : ") and (
        "la marque « quick » a déjà un lieu nommé « Quick Massy » (quick-massy) : choisissez un autre nom, ou --force"
        in refused.stderr
    ), refused.stderr
    assert venues() == before  # nothing changed, not even the city given with the name
    for given, kept in (("Quick Orly", "Quick Orly"), ("QUICK  orly", "QUICK orly")):  # its own name, or so written
        own = edit("--name", given)
        assert own.returncode == 0 and json.loads(own.stdout)["name"] == kept, own.stderr
    other_brand = edit("--name", "Flunch Massy")  # another brand's venue's name is no one's business here
    assert other_brand.returncode == 0 and json.loads(other_brand.stdout)["name"] == "Flunch Massy", other_brand.stderr
    forced = edit("--name", "Quick Massy", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (json.loads(forced.stdout)["code"], json.loads(forced.stdout)["name"]) == ("quick-orly", "Quick Massy")
    assert venues()["quick/quick-massy"] == ("Quick Massy", None)


def test_with_the_web_channel_on_venues_print_their_web_links_and_the_qr_opens_the_landing_page(
    env: dict[str, str], tmp_path: Path
) -> None:
    from PIL import Image
    from zxingcpp import read_barcodes  # the posters' tests decode QR codes the same way

    env = {**env, "PAROLE_PUBLIC_URL": "https://avis.example.fr/"}
    assert parole("brand", "add", "quick", "--name", "Quick", env=env, cwd=tmp_path).returncode == 0
    done = parole("venue", "add", "--brand", "quick", "--name", "Quick Massy", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    venue = json.loads(done.stdout)
    assert venue["web_link"] == f"https://avis.example.fr/v/{venue['token']}"
    assert venue["web_short_link"] == f"https://avis.example.fr/v/{venue['short_code']}"
    assert venue["kiosk_link"] == f"https://avis.example.fr/k/{venue['token']}"
    assert venue["deep_link"] == f"https://t.me/parole_bot?start={venue['token']}"
    [code] = read_barcodes(Image.open(venue["qr_png"]))
    assert code.text == venue["web_link"]
    [listed] = [json.loads(line) for line in parole("venue", "list", env=env, cwd=tmp_path).stdout.splitlines()]
    assert listed["web_link"] == venue["web_link"] and listed["kiosk_link"] == venue["kiosk_link"]
    bad = parole("venue", "list", env={**env, "PAROLE_PUBLIC_URL": "avis.example.fr"}, cwd=tmp_path)
    assert bad.returncode == 1 and "PAROLE_PUBLIC_URL" in bad.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("brand", "add", "Bad Code", "--name", "X"), "le code de marque « Bad Code »"),
        (("venue", "add", "--brand", "nobody", "--name", "X"), "la marque « nobody » n'existe pas"),
        (("venue", "add", "--brand", "quick", "--name", "X", "--lat", "48"), "--lat et --lon"),
        (("venue", "list", "--brand", "nobody"), "la marque « nobody » n'existe pas"),
        (("export", "--brand", "nobody"), "la marque « nobody » n'existe pas"),
        (
            ("stats", "--since", "0001-01-01", "--until", "9999-12-31"),
            "est hors limites : une date entre le 01/01/2000",
        ),
        (("stats", "--until", "9999-12-31T23:59:59-05:00"), "« 9999-12-31T23:59:59-05:00 » est hors limites"),
        (("stats", "--since", "2000-01-01", "--until", "2099-01-01"), "dure au plus 10 ans"),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    env: dict[str, str], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    assert parole("brand", "add", "quick", "--name", "Quick", env=env, cwd=tmp_path).returncode == 0
    done = parole(*args, env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    listed = parole("venue", "list", env=env, cwd=tmp_path)
    assert listed.stdout == ""


def test_bad_configuration_names_the_variable(env: dict[str, str], tmp_path: Path) -> None:
    done = parole("venue", "list", env={**env, "PAROLE_REDIS_URL": "localhost"}, cwd=tmp_path)
    assert done.returncode == 1 and "PAROLE_REDIS_URL" in done.stderr
    done = parole("serve", env={**env, "PAROLE_TELEGRAM_TOKEN": ""}, cwd=tmp_path)
    assert done.returncode == 1 and "PAROLE_TELEGRAM_TOKEN est nécessaire pour parler à Telegram" in done.stderr
    done = parole("venue", "list", env={**env, "PAROLE_REDIS_URL": "redis://127.0.0.1:1/0"}, cwd=tmp_path)
    assert done.returncode == 1 and "impossible de joindre Redis" in done.stderr and "Traceback" not in done.stderr


def test_venue_add_without_a_username_or_token_says_what_to_set(env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in env.items() if k != "PAROLE_BOT_USERNAME"}
    assert parole("brand", "add", "quick", "--name", "Quick", env=env, cwd=tmp_path).returncode == 0
    done = parole("venue", "add", "--brand", "quick", "--name", "X", env=env, cwd=tmp_path)
    assert done.returncode == 1 and "PAROLE_BOT_USERNAME" in done.stderr


def test_embedded_redis_keeps_data_between_commands(tmp_path: Path) -> None:
    env = {"PAROLE_DATA_DIR": str(tmp_path / "data"), "PAROLE_BOT_USERNAME": "parole_bot", "PAROLE_REDIS_URL": ""}
    assert parole("brand", "add", "quick", "--name", "Quick", env=env, cwd=tmp_path).returncode == 0
    done = parole("brand", "list", env=env, cwd=tmp_path)
    assert [json.loads(line)["code"] for line in done.stdout.splitlines()] == ["quick"]
    assert (tmp_path / "data" / "redis" / "appendonlydir").is_dir()


def test_demo_plays_the_journey_and_exits_0(tmp_path: Path) -> None:
    done = parole("demo", env={"PAROLE_REDIS_URL": "", "PAROLE_DATA_DIR": str(tmp_path / "d")}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "👤 Camille : /start" in out and "bienvenue <b>chez" not in out
    assert "Merci pour votre avis" in out
    assert "/link" in out and "Ticket n° 1001" in out and "Quick Massy Gare vous répond" in out
    stored = json.loads(out[out.index("Retour enregistré") + len("Retour enregistré") :])
    assert stored["rating"] == 2 and stored["status"] == "complete"
    assert "Julien" in stored["reason"] and stored["suggestion"]
    # The analysis ran in a worker process, with the brand's vocabulary.
    assert stored["kind"] in ("critique", "complaint")
    assert {"text": "Julien", "label": "PER", "id": "julien"}.items() <= stored["entities"][0].items()
    assert [r["author"] for r in stored["replies"]] == ["staff", "customer"]
    # The ticket it has just answered, with its times.
    assert stored["ticket"] == 1001 and stored["ticket_status"] == "answered", stored
    assert stored["ticket_opened_at"] and stored["first_response_at"] and stored["undeliverable"] is False


def test_demo_on_whatsapp_plays_the_journey_and_a_staff_reply(tmp_path: Path) -> None:
    env = {"PAROLE_REDIS_URL": "", "PAROLE_DATA_DIR": str(tmp_path / "d")}
    done = parole("demo", "--channel", "whatsapp", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "whatsapp_link https://wa.me/" in out and "👤 Camille (WhatsApp) : Bonjour !" in out
    assert "bienvenue *chez Quick Massy Gare*" in out and "<b>" not in out.split("Retour enregistré")[0]
    assert "[⭐⭐⭐⭐⭐]" in out and "👤 Camille choisit [⭐⭐]" in out
    assert "via WhatsApp" in out and "Ticket n° 1001" in out
    assert "🤖 → Camille (WhatsApp) : *Quick Massy Gare* vous répond" in out
    stored = json.loads(out[out.index("Retour enregistré") + len("Retour enregistré") :])
    assert stored["channel"] == "whatsapp" and stored["rating"] == 2 and stored["status"] == "complete"
    assert [r["author"] for r in stored["replies"]] == ["staff", "customer"]
    assert stored["ticket"] == 1001 and stored["ticket_status"] == "answered", stored


def test_demo_refuses_an_unknown_channel(tmp_path: Path) -> None:
    done = parole("demo", "--channel", "fax", env={"PAROLE_REDIS_URL": ""}, cwd=tmp_path)
    assert done.returncode == 2 and "choix invalide : 'fax'" in done.stderr


async def test_export_jsonl_and_csv(env: dict[str, str], tmp_path: Path) -> None:
    from redis.asyncio import Redis

    from bot.storage.store import Store
    from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef

    redis: Redis = Redis.from_url(env["PAROLE_REDIS_URL"], decode_responses=True)
    store = Store(redis)
    await store.add_brand("quick", "Quick")
    venue = await store.add_venue("quick", "Quick Massy")
    ref = VenueRef("quick", venue.code, venue.name, "Quick")
    for number, (reason, status) in enumerate([('Froid, "vraiment"; trop\nlong', "complete"), ("Bien", "abandoned")]):
        record = FeedbackRecord(
            id=f"f{number}", venue=ref, language="fr", rating=2 + number, reason=reason, suggestion=None,
            status=FeedbackStatus(status), created_at=1_700_000_000 + number, updated_at=1_700_000_000, flow="default",
        )  # fmt: skip
        await store.save_turn(
            CustomerId.telegram(7), Conversation(), [record], duplicate_window=60, conversation_timeout=60
        )
    await redis.aclose()
    done = parole("export", "--format", "jsonl", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in records] == ["f0", "f1"]
    assert set(records[0]) >= {"id", "brand", "venue", "language", "rating", "reason", "suggestion", "created_at",
                               "status", "kind", "aspects", "entities", "replies"}  # fmt: skip
    assert "chat_id" not in records[0]
    assert records[0]["created_at"] == "2023-11-14T23:13:20+01:00"  # in the venue's time zone, Paris
    done = parole(
        "export", "--format", "csv", "-o", str(tmp_path / "out.csv"), "--venue", venue.code, env=env, cwd=tmp_path
    )
    assert done.returncode == 0 and "2 retours exportés" in done.stderr
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert rows[0]["Raison"] == 'Froid, "vraiment"; trop\nlong' and rows[1]["État du retour"] == "interrompu"

"""E-mail alerts and digests (`bot.staff.mail`) against a real SMTP server the test starts (aiosmtpd): a low
rating or a complaint at once, a venue's digest of its day, each sent once; an SMTP server that refuses or is
gone is logged and counted, never in the notifier's way; `parole mail` and its refusals."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from redis.asyncio import Redis

from bot.analysis.worker import AnalysisStore
from bot.config import SmtpSettings, load_settings
from bot.errors import ConfigError
from bot.refusals import refusal_text
from bot.staff.mail import MailAlerts, Mailer, Recipient, RecipientStore
from bot.storage import keys
from bot.storage.embedded import free_port
from nlp.types import Analysis, Kind
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Customer

PARIS = ZoneInfo("Europe/Paris")


class Inbox:
    """What the SMTP server received; `refuse` makes it answer 550 to every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "550 5.7.1 Mailbox unavailable"
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _mail(scene: Scene, port: int) -> MailAlerts:
    """The scene's notifier with e-mail on, through the test's SMTP server."""
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="alertes@parole.example", security="none")
    notifier = scene.bot.staff.notifier
    alerts = MailAlerts(Mailer(settings, scene.bot.store.redis), scene.bot.store, notifier.renderer,
                        web_url="https://parole.example")  # fmt: skip
    notifier.mail = alerts
    return alerts


def _body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # lines end in CRLF on the wire


async def test_a_low_rating_is_emailed_at_once_and_once(scene: Scene, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    alerts = _mail(scene, port)
    await RecipientStore(scene.bot.store.redis).add("quick", Recipient("olga@quick.fr", "Olga Lefèvre"))
    await RecipientStore(scene.bot.store.redis).add("quick", Recipient("paul@quick.fr", "Paul", alerts=False))
    await scene.feedback(Customer.new(scene.emulator), rating=2, reason="Frites froides, serveur pressé, 40 € !")
    await scene.feedback(Customer.new(scene.emulator, "Bea"), rating=5, reason="Parfait.")
    await alerts.drain()
    await scene.notify()
    await alerts.drain()
    [(to, message)] = inbox.messages  # Olga only (Paul takes digests only), the 5 stars not at all, once
    assert to == ["olga@quick.fr"]
    assert message["Subject"] == "Avis 2/5 à Quick Massy (ticket n° 1001)"
    assert message["To"] == "Olga Lefèvre <olga@quick.fr>" and message["From"] == "parole <alertes@parole.example>"
    assert message.get_content_charset() == "utf-8" and message["Date"] and message["Message-ID"]
    body = _body(message)
    assert body.startswith("Bonjour Olga Lefèvre,\n\nUn client a laissé un avis 2/5 à Quick Massy, le ")
    assert "« Frites froides, serveur pressé, 40 € ! »\n\nLire et répondre" in body
    assert f"Lire et répondre (ticket n° {FIRST_TICKET}) : https://parole.example/ticket/quick/{FIRST_TICKET}" in body


async def test_a_complaint_is_emailed_when_its_analysis_says_so(scene: Scene, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    alerts = _mail(scene, port)
    await RecipientStore(scene.bot.store.redis).add("quick", Recipient("olga@quick.fr"))
    await scene.feedback(Customer.new(scene.emulator), rating=4, reason="Bon repas mais on m'a mal rendu la monnaie.")
    await alerts.drain()
    assert inbox.messages == []
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None
    analysis = Analysis(language="fr", kind=Kind.COMPLAINT, aspects=("price",), entities=())
    await AnalysisStore(scene.bot.store.redis).save("quick", ticket.feedback, analysis, marker="1-0")
    await scene.notify()
    await alerts.drain()
    [(_, message)] = inbox.messages
    assert message["Subject"] == "Réclamation à Quick Massy (ticket n° 1001)"
    assert "Bonjour,\n\nUn client a laissé une réclamation (avis 4/5) à Quick Massy" in _body(message)


async def test_a_venues_digest_of_its_day(scene: Scene, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    alerts = _mail(scene, port)
    await RecipientStore(scene.bot.store.redis).add("quick", Recipient("paul@quick.fr", "Paul", alerts=False))
    thursday = dt.datetime(2026, 12, 3, 15, 0, tzinfo=PARIS).timestamp()
    scene.clock.advance(thursday - scene.clock())
    await scene.feedback(Customer.new(scene.emulator), rating=1, reason="Fermé à 14 h au lieu de 15 h.")
    await scene.feedback(Customer.new(scene.emulator, "Bea"), rating=4, reason="Bien.", suggestion="Plus de sauces.")
    await scene.staff_says(scene.julien, f"/reply {FIRST_TICKET + 1} Merci !")
    scene.clock.advance(dt.datetime(2026, 12, 4, 6, 30, tzinfo=PARIS).timestamp() - scene.clock())
    assert await alerts.digests(scene.clock()) == 0  # not before 07:00
    scene.clock.advance(3600)
    assert await alerts.digests(scene.clock()) == 1  # Quick Massy; Quick Orly had no feedback
    await alerts.drain()
    scene.clock.advance(3600)
    assert await alerts.digests(scene.clock()) == 0  # once a day
    [(to, message)] = inbox.messages
    assert to == ["paul@quick.fr"] and message["Subject"] == "Quick Massy : 2 avis le jeudi 3 décembre"
    assert _body(message) == (
        "Bonjour Paul,\n\nLe jeudi 3 décembre, Quick Massy a reçu 2 avis, 2,5 étoiles en moyenne.\n"
        "- 1 avis à 1 ou 2 étoiles\n- 1 suggestion\n- 1 ticket attend encore une réponse\n\n"
        "Tous les avis : https://parole.example/inbox?brand=quick\n\n— parole\n"
    )


async def test_an_address_for_some_venues_gets_only_their_alerts_and_digests(
    scene: Scene, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    alerts = _mail(scene, port)
    recipients = RecipientStore(scene.bot.store.redis)
    await recipients.add("quick", Recipient("massy@quick.fr", venues=(scene.massy.code,)))
    await recipients.add("quick", Recipient("orly@quick.fr", venues=(scene.orly.code,)))
    await recipients.add("quick", Recipient("siege@quick.fr"))
    thursday = dt.datetime(2026, 12, 3, 15, 0, tzinfo=PARIS).timestamp()
    scene.clock.advance(thursday - scene.clock())
    await scene.feedback(Customer.new(scene.emulator), scene.orly, rating=1, reason="Sale.")
    await alerts.drain()
    assert sorted(to for to, _ in inbox.messages) == [["orly@quick.fr"], ["siege@quick.fr"]]
    inbox.messages.clear()
    scene.clock.advance(dt.datetime(2026, 12, 4, 8, 0, tzinfo=PARIS).timestamp() - scene.clock())
    assert await alerts.digests(scene.clock()) == 1  # Orly's; Massy had no feedback
    await alerts.drain()
    assert sorted(to for to, _ in inbox.messages) == [["orly@quick.fr"], ["siege@quick.fr"]]
    assert all(message["Subject"].startswith("Quick Orly : 1 avis") for _, message in inbox.messages)


async def test_an_address_kept_before_venues_gets_the_whole_brands_email(redis_client: Redis) -> None:
    old = json.dumps({"name": "", "alerts": True, "digest": False})
    await redis_client.hset(keys.mail_recipients("quick"), "olga@quick.fr", old)
    [olga] = await RecipientStore(redis_client).list("quick")
    assert olga.venues == () and olga.covers("quick-massy") and olga.covers("anywhere")


@pytest.mark.parametrize("server", ["refusing", "gone"])
async def test_an_smtp_failure_is_counted_and_the_notifier_goes_on(
    scene: Scene, smtp_server: tuple[Inbox, int], server: str
) -> None:
    inbox, port = smtp_server
    inbox.refuse = True
    alerts = _mail(scene, port if server == "refusing" else free_port())
    await RecipientStore(scene.bot.store.redis).add("quick", Recipient("olga@quick.fr"))
    said = await scene.feedback(Customer.new(scene.emulator), rating=1)
    assert "Ticket n° 1001" in said.text(scene.room.id)  # the card went out all the same
    await alerts.drain()
    assert inbox.messages == [] and alerts.mailer.failed == 1
    assert await scene.bot.store.redis.get(keys.MAIL_FAILED) == "1"


def test_smtp_settings() -> None:
    base = {"PAROLE_SMTP_HOST": "smtp.example.fr", "PAROLE_SMTP_FROM": "avis@example.fr"}
    settings = load_settings(base, dotenv=None).smtp
    assert settings is not None and (settings.port, settings.security) == (587, "starttls")
    assert load_settings({}, dotenv=None).smtp is None
    login = {"PAROLE_SMTP_USER": "u", "PAROLE_SMTP_PASSWORD": "s3cr3t-pw"}
    tls = load_settings({**base, "PAROLE_SMTP_SECURITY": "tls", **login}, dotenv=None).smtp
    assert tls is not None and tls.port == 465 and "s3cr3t" not in repr(tls)
    bad: list[dict[str, Any]] = [
        {"PAROLE_SMTP_HOST": "smtp.example.fr"},
        {**base, "PAROLE_SMTP_FROM": "pas une adresse"},
        {**base, "PAROLE_SMTP_PORT": "99999"},
        {**base, "PAROLE_SMTP_SECURITY": "ssl3"},
        {**base, "PAROLE_SMTP_USER": "u"},
    ]
    for environ in bad:
        with pytest.raises(ConfigError, match="PAROLE_SMTP_") as caught:
            load_settings(environ, dotenv=None)
        said = refusal_text(caught.value)  # as the terminal says it
        assert said.startswith("PAROLE_SMTP_") and any(word in said for word in ("doit", "va avec")), said


def test_parole_mail(redis_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url, "PAROLE_DATA_DIR": str(tmp_path)}
    env.pop("PAROLE_SMTP_HOST", None)

    def parole(*args: str, ok: bool = True) -> tuple[list[dict[str, Any]], str]:
        done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True)
        assert (done.returncode == 0) is ok, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()], done.stderr

    parole("brand", "add", "quick", "--name", "Quick")
    [added], warning = parole("mail", "add", "--brand", "quick", "--email", "Olga@Quick.fr", "--name", "Olga")
    assert added == {
        "brand": "quick", "address": "Olga@Quick.fr", "name": "Olga", "alerts": True, "digest": True, "venues": []
    }  # fmt: skip
    assert "PAROLE_SMTP_HOST n'est pas défini : aucun e-mail ne part" in warning
    _, refused = parole("mail", "add", "--brand", "quick", "--email", "olga@", ok=False)
    assert (
        refused == "parole : erreur : « olga@ » n'est pas une adresse e-mail (écrivez par exemple prenom@exemple.fr)\n"
    )
    _, refused = parole("mail", "add", "--brand", "quick", "--email", "a@b.fr", "--no-alerts", "--no-digest", ok=False)
    assert "choisissez au moins les alertes ou le résumé du jour" in refused
    listed, _ = parole("mail", "list", "--brand", "quick")
    assert [r["address"] for r in listed] == ["olga@quick.fr"]  # nothing added by the refusals
    parole("mail", "remove", "--brand", "quick", "--email", "olga@quick.fr")
    assert parole("mail", "list", "--brand", "quick")[0] == []
    parole("mail", "remove", "--brand", "quick", "--email", "olga@quick.fr", ok=False)

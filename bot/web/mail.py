"""The web admin's e-mail page: the addresses that get a brand's alerts and daily digests (the whole brand's, or
some venues'), added, removed and tried with a test e-mail, through `bot.staff.mail` as `parole mail` does. It
checks who may manage a brand, reads the forms and builds the page's context; `bot.web.admin` serves it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from multidict import MultiMapping

from bot.config import SmtpSettings
from bot.editing.editor import Admin
from bot.errors import NotAllowed, NotFound, TooSoon, problem
from bot.staff.mail import MAX_RECIPIENTS, Mailer, Recipient, RecipientStore, trial_message
from bot.storage.store import Store
from dialogs.render import MessageRenderer

#: What became of an action, as the page says it after it: (its text, whether it went well).
OUTCOMES: Final = {
    "added": ("Adresse {address} ajoutée.", True),
    "removed": ("Adresse {address} retirée : elle ne reçoit plus rien.", True),
    "sent": (
        "E-mail d'essai envoyé à {address} : le serveur SMTP l'a accepté. S'il n'arrive pas, regardez dans les "
        "indésirables.",
        True,
    ),
    "login": (
        "E-mail d'essai non envoyé : le serveur SMTP a refusé l'identifiant (PAROLE_SMTP_USER, PAROLE_SMTP_PASSWORD).",
        False,
    ),
    "refused": ("E-mail d'essai non envoyé : le serveur SMTP a refusé l'e-mail ou l'adresse {address}.", False),
    "unreachable": (
        "E-mail d'essai non envoyé : le serveur SMTP ne répond pas (PAROLE_SMTP_HOST, PAROLE_SMTP_PORT).",
        False,
    ),
}


async def mail_brand(store: Store, admin: Admin, asked: str) -> str:
    """The brand whose addresses the page is about: the one asked (by default the admin's own, or an operator's
    first; "" when there is none). NotAllowed for another brand than a brand admin's, NotFound for none."""
    asked = asked.strip()
    if admin.brand is not None:
        if asked and asked != admin.brand:
            text = "{admin} may edit only the brand {mine!r}, not {scope!r}"
            raise NotAllowed(problem("edit_only_brand", text, admin=admin.name, mine=admin.brand, scope=asked))
        asked = admin.brand
    elif not asked:
        asked = next((b.code for b in await store.list_brands()), "")
    if asked:
        await store.get_brand(asked)
    return asked


async def mail_context(store: Store, admin: Admin, brand: str, smtp: SmtpSettings | None) -> dict[str, Any]:
    """The page's context: the brands to choose from, the brand's venues and addresses, and the SMTP server's
    state (None: nothing is sent)."""
    brands = [await store.get_brand(admin.brand)] if admin.brand is not None else await store.list_brands()
    context: dict[str, Any] = {
        "title": "E-mails", "brand": brand, "brands": [(b.code, b.name) for b in brands], "brand_name": "",
        "venues": [], "recipients": [], "most": MAX_RECIPIENTS, "sender": smtp.sender if smtp else None,
        "problem": None, "outcome": None, "form": blank_form(),
    }  # fmt: skip
    if not brand:
        return context
    venues = {v.code: v.name for v in await store.list_venues(brand)}
    context["brand_name"] = (await store.get_brand(brand)).name
    context["venues"] = list(venues.items())
    context["recipients"] = [
        {**r.to_json(), "venue_names": [venues.get(code, code) for code in r.venues]}
        for r in await RecipientStore(store.redis).list(brand)
    ]
    return context


def blank_form() -> dict[str, Any]:
    """The add form as it first shows: both kinds of e-mail, every venue."""
    return {"email": "", "name": "", "alerts": True, "digest": True, "venues": []}


def form_values(form: MultiMapping[Any]) -> dict[str, Any]:
    """The add form as it was sent (unchecked boxes are not sent at all)."""
    text = {name: form.get(name) for name in ("email", "name")}
    return {
        **{name: value if isinstance(value, str) else "" for name, value in text.items()},
        "alerts": form.get("alerts") == "yes",
        "digest": form.get("digest") == "yes",
        "venues": [v for v in form.getall("venue", []) if isinstance(v, str)],
    }


def recipient_of(values: Mapping[str, Any]) -> Recipient:
    """The address to add, as `form_values` read it; `RecipientStore.add` checks it."""
    return Recipient(values["email"], values["name"], values["alerts"], values["digest"], tuple(values["venues"]))


def outcome_of(query: Mapping[str, str]) -> dict[str, Any] | None:
    """What the page says of the action it comes back from (`?done=…&address=…`), or None."""
    found = OUTCOMES.get(query.get("done", ""))
    if found is None:
        return None
    text, ok = found
    return {"text": text.format(address=query.get("address", "")[:254]), "ok": ok}


class TrialMail:
    """Test e-mails from the page: to a listed address, through the configured SMTP server, one a brand in
    `bot.staff.mail.TEST_MAIL_SECONDS` so the button cannot be used to flood a mailbox."""

    def __init__(self, mailer: Mailer, renderer: MessageRenderer) -> None:
        self.mailer = mailer
        self.renderer = renderer

    async def send(self, store: Store, brand: str, address: str, *, by: str) -> str:
        """Send one and say what became of it (an `OUTCOMES` key).

        Raises:
            NotFound: the address is not the brand's.
            TooSoon: the brand's test e-mail went less than a minute ago.
        """
        recipients = RecipientStore(store.redis)
        to = await recipients.get(brand, address)
        if to is None:
            raise NotFound("e-mail address", address.strip())
        wait = await recipients.claim_test(brand)
        if wait:
            text = "a test e-mail of this brand went less than a minute ago: try again in {seconds} seconds"
            raise TooSoon(problem("mail_test_wait", text, seconds=wait), wait)
        venues = {v.code: v.name for v in await store.list_venues(brand)}
        message = trial_message(
            self.mailer, self.renderer, to, brand_name=(await store.get_brand(brand)).name,
            venue_names=[venues.get(code, code) for code in to.venues], by=by,
        )  # fmt: skip
        failure = await self.mailer.attempt(message)
        return "sent" if failure is None else failure.value

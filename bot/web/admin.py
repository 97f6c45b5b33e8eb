"""`parole web`: the web admin (aiohttp + Jinja2 pages from `templates/web/`).

Pages: the templates of a scope, the editor with a live preview, the history with diffs and rollbacks,
the flow editor, the dashboard (`bot.web.dashboard`), the inbox (`bot.web.inbox`), the brand's e-mail addresses
(`bot.web.mail`). Login by a one-time link
only (`/weblogin` in the bot, `parole web login-link`); the login button's POST carries a nonce bound to a
cookie the link's page set (and a cross-site POST is refused), so nobody can log a victim into their own
session; the session cookie is HttpOnly, SameSite, and Secure when the web admin's URL is https; every form
and the preview carry the session's CSRF token; a brand admin sees and edits only their brand. The
Content-Security-Policy runs no inline script or style: the page's script and styles are files under
`templates/web/static/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import urlencode, urlparse

import jinja2
from aiohttp import web

from bot.config import SmtpSettings
from bot.editing.editor import Admin, Editor, Refused, template_parts
from bot.editing.logins import SESSION_SECONDS, WebLogins, WebSession
from bot.editing.overrides import FLOW_DOCUMENT, Document, Scope, Version, VersionConflict, template_document
from bot.errors import InvalidInput, NotAllowed, NotFound, TooSoon, problem
from bot.formats import Formats, page_filters
from bot.health import HEALTH_PATHS, add_health_routes
from bot.refusals import refusal_text, say
from bot.staff.mail import Mailer, RecipientStore
from bot.staff.relay import Relay
from bot.staff.tickets import TicketStatus, TicketStore
from bot.storage.store import Store
from bot.web.dashboard import CHANNEL_NAMES, dashboard_figures, dashboard_form
from bot.web.inbox import FILTERS, KIND_NAMES, STATUS_NAMES, inbox_form, inbox_page, new_rows
from bot.web.mail import TrialMail, form_values, mail_brand, mail_context, outcome_of, recipient_of
from bot.web.tickets import OUTCOMES, ticket_context, visible_ticket
from dialogs import french
from dialogs.catalog import default_templates_dir
from dialogs.render import MessageRenderer

log = logging.getLogger(__name__)

COOKIE: Final = "parole_session"
#: The login page's nonce, sent back by its button: only that page can use the link up.
LOGIN_COOKIE: Final = "parole_login"
LOGIN_SECONDS: Final = 600
EDITOR_KEY: Final = web.AppKey("editor", Editor)
LOGINS_KEY: Final = web.AppKey("logins", WebLogins)
PAGES_KEY: Final = web.AppKey("pages", jinja2.Environment)
SECURE_KEY: Final = web.AppKey("secure_cookies", bool)
SESSION_KEY: Final = web.RequestKey("session", WebSession)
BRAND_NAME_KEY: Final = web.RequestKey("brand_name", str)
RELAY_KEY: Final = web.AppKey("relay", Relay)
SMTP_KEY: Final = web.AppKey("smtp", SmtpSettings)
TRIAL_MAIL_KEY: Final = web.AppKey("trial_mail", TrialMail)
MAX_FORM_BYTES: Final = 256 * 1024
STATIC_DIR: Final = default_templates_dir() / "web" / "static"
#: The global scope, as the pages name it.
GLOBAL_NAME: Final = "toutes les marques"
_STATIC_TYPES: Final = {".js": "text/javascript", ".css": "text/css"}

_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def web_app(
    editor: Editor,
    logins: WebLogins,
    *,
    secure_cookies: bool = False,
    relay: Relay | None = None,
    smtp: SmtpSettings | None = None,
) -> web.Application:
    """The web admin's aiohttp application; `secure_cookies` marks its cookies Secure (https behind a proxy).

    Cookies are Secure anyway on a request that came over TLS to this server. With the staff side's `relay`
    (a Telegram token configured), tickets can be answered, closed and reopened from their page; without it
    they are shown only. With `smtp` (`PAROLE_SMTP_*`), the e-mail page can send a test e-mail.
    """
    app = web.Application(middlewares=[_gone_middleware, _session_middleware], client_max_size=MAX_FORM_BYTES)
    if relay is not None:
        app[RELAY_KEY] = relay
    if smtp is not None:
        app[SMTP_KEY] = smtp
        app[TRIAL_MAIL_KEY] = TrialMail(Mailer(smtp, editor.store.redis), MessageRenderer(editor.base))
    app[EDITOR_KEY] = editor
    app[LOGINS_KEY] = logins
    app[SECURE_KEY] = secure_cookies
    app[PAGES_KEY] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(default_templates_dir() / "web"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app[PAGES_KEY].filters.update(french.FILTERS)
    app[PAGES_KEY].filters.update(page_filters(Formats()))
    app.router.add_get("/static/{name}", static_file)
    app.router.add_get("/login/{token}", login_page)
    app.router.add_post("/login/{token}", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", index)
    app.router.add_get("/edit", edit_page)
    app.router.add_post("/edit", save)
    app.router.add_post("/preview", preview)
    app.router.add_get("/history", history)
    app.router.add_get("/rollback", rollback)
    app.router.add_post("/rollback", rollback)
    app.router.add_get("/dashboard", dashboard)
    app.router.add_get("/inbox", inbox)
    app.router.add_get("/inbox/new", inbox_new)
    app.router.add_get("/ticket/{brand}/{number}", ticket_page)
    app.router.add_post("/ticket/{brand}/{number}/{action}", ticket_action)
    app.router.add_get("/mail", mail_page)
    app.router.add_post("/mail/{action}", mail_action)
    add_health_routes(app, editor.store.redis, process="web")  # no login: for the orchestrator, not for people
    return app


# --- sessions -------------------------------------------------------------------------------------------


def _refused_page(request: web.Request, error: BaseException, status: int, *, title: str = "Refusé") -> web.Response:
    """The page that says why, in the admin's words."""
    return _page(
        request, "message.html", {"title": title, "message": "refused", "problem": refusal_text(error)}, status
    )


@web.middleware
async def _gone_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A browser that went away mid-request (a preview superseded, a page left) is no error of ours."""
    try:
        return await handler(request)
    except ConnectionResetError:
        log.debug("%s %s: the browser went away before the answer", request.method, request.path)
        return web.Response(status=499)  # nginx's "client closed request": nobody reads it


@web.middleware
async def _session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(("/login/", "/static/")) or request.path in HEALTH_PATHS:
        return await handler(request)
    session = await request.app[LOGINS_KEY].session(request.cookies.get(COOKIE))
    if session is None:
        return _page(request, "message.html", {"title": "Connexion", "message": "login"}, status=401)
    if request.method == "POST":
        form = await request.post()
        sent = form.get("csrf")
        if not session.csrf_ok(sent if isinstance(sent, str) else None):
            return _page(request, "message.html", {"title": "Refusé", "message": "csrf"}, status=403)
    request[SESSION_KEY] = session
    if session.admin.brand is not None:  # the header names the admin's brand
        with contextlib.suppress(NotFound):
            request[BRAND_NAME_KEY] = (await request.app[EDITOR_KEY].store.get_brand(session.admin.brand)).name
    try:
        return await handler(request)
    except (InvalidInput, NotFound) as refused:
        return _page(
            request, "message.html", {"title": "Refusé", "message": "refused", "problem": refusal_text(refused)}, 403
        )


async def login_page(request: web.Request) -> web.StreamResponse:
    """A button that logs in: a GET never uses the link up, so link previews and prefetchers cannot.

    The page sets a nonce in a cookie and in its form: the button's POST must bring both.
    """
    token = request.match_info["token"]
    if not await request.app[LOGINS_KEY].is_valid(token):
        return _page(request, "message.html", {"title": "Connexion", "message": "bad_link"}, status=403)
    nonce = secrets.token_urlsafe(24)
    response = _page(request, "login.html", {"title": "Connexion", "token": token, "nonce": nonce})
    response.set_cookie(
        LOGIN_COOKIE, nonce, max_age=LOGIN_SECONDS, httponly=True, samesite="Strict", path="/login/",
        secure=_secure(request),
    )  # fmt: skip
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """Use the link up and open a session, for the login page's own button only (no login CSRF)."""
    if not await request.app[LOGINS_KEY].is_valid(request.match_info["token"]):
        return _page(request, "message.html", {"title": "Connexion", "message": "bad_link"}, status=403)
    if not await _from_login_page(request):
        log.warning("web admin: a login POST that did not come from its page, from %s, refused", request.remote)
        return _page(request, "message.html", {"title": "Connexion", "message": "csrf"}, status=403)
    session = await request.app[LOGINS_KEY].redeem(request.match_info["token"])
    if session is None:
        return _page(request, "message.html", {"title": "Connexion", "message": "bad_link"}, status=403)
    response = web.Response(status=303, headers={"Location": "/"})
    response.set_cookie(
        COOKIE, session.session_id, max_age=SESSION_SECONDS, httponly=True, samesite="Lax", path="/",
        secure=_secure(request),
    )  # fmt: skip
    response.del_cookie(LOGIN_COOKIE, path="/login/")
    return response


async def _from_login_page(request: web.Request) -> bool:
    """Same origin (when the browser says), and the nonce of the page's form equal to its cookie's."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is not None and urlparse(origin).netloc != request.host:
        return False
    form = await request.post()
    sent, kept = form.get("nonce"), request.cookies.get(LOGIN_COOKIE)
    if not isinstance(sent, str) or not sent or not kept:
        return False
    return hmac.compare_digest(sent.encode(), kept.encode())


def _secure(request: web.Request) -> bool:
    return request.app[SECURE_KEY] or request.secure


async def static_file(request: web.Request) -> web.StreamResponse:
    """The web admin's script and styles (no session needed: they hold nothing private)."""
    name = request.match_info["name"]
    path = STATIC_DIR / name
    content_type = _STATIC_TYPES.get(path.suffix)
    if "/" in name or name.startswith(".") or content_type is None or not path.is_file():
        raise web.HTTPNotFound()
    response = web.Response(body=path.read_bytes(), content_type=content_type, charset="utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[LOGINS_KEY].logout(_session(request).session_id)
    response = web.Response(status=303, headers={"Location": "/login/expired"})
    response.del_cookie(COOKIE, path="/")
    return response


# --- pages ----------------------------------------------------------------------------------------------


#: The template lists' groups: who reads the text, told by its name's first word (the rest: customers).
TEMPLATE_GROUPS: Final = (
    ("customer", "Clients"),
    ("staff", "Équipe (salon du personnel)"),
    ("admin", "Administration"),
)


def template_group(name: str) -> str:
    """`staff` or `admin` for a template whose name starts so, `customer` for the others."""
    first = name.partition("_")[0]
    return first if first in ("staff", "admin") else "customer"


async def index(request: web.Request) -> web.StreamResponse:
    """The templates of a scope, grouped by who reads them and searched by name or description, and where
    each text comes from."""
    editor = request.app[EDITOR_KEY]
    session = _session(request)
    scope = await _scope(request, request.query.get("scope"))
    language = request.query.get("language", "fr")
    editor.check_template_name("greeting", language)
    search = request.query.get("q", "").strip()
    entries = [
        e for e in await editor.entries(scope)
        if e.language == language and search.casefold() in f"{e.name} {e.description}".casefold()
    ]  # fmt: skip
    texts = await editor.texts(scope)
    context = {
        "scope": scope.label(),
        "scope_name": await _scope_name(editor.store, scope),
        "scopes": await _visible_scopes(editor.store, session.admin),
        "language": language,
        "languages": editor.base.languages,
        "search": search,
        "groups": [
            (group, heading, [e for e in entries if template_group(e.name) == group])
            for group, heading in TEMPLATE_GROUPS
        ],
        "found": len(entries),
        "flow_origin": texts.flow_ref or "default",
    }
    return _page(request, "index.html", context)


async def edit_page(request: web.Request) -> web.StreamResponse:
    editor = request.app[EDITOR_KEY]
    document = await _document(request, request.query)
    context = await _edit_context(editor, document)
    context["saved"] = request.query.get("saved") == "1"
    return _page(request, "edit.html", context)


async def save(request: web.Request) -> web.StreamResponse:
    editor = request.app[EDITOR_KEY]
    session = _session(request)
    form = await request.post()
    document = await _document(request, form)
    text = _field(form, "text")
    try:
        expected = int(_field(form, "expected"))
    except ValueError:
        raise InvalidInput(problem("web_version_not_number", "the form's version is not a number")) from None
    try:
        if document.name == FLOW_DOCUMENT:
            await editor.set_flow(session.admin, document.scope, text, expected=expected)
        else:
            name, language = _template(document)
            await editor.set_template(session.admin, document.scope, name, language, text, expected=expected)
    except Refused as refused:
        context = await _edit_context(editor, document, text=text, expected=expected)
        context.update(problem=say(refused.reason), line=refused.line)
        return _page(request, "edit.html", context, status=422)
    except VersionConflict as conflict:
        context = await _edit_context(editor, document, text=text, expected=expected)
        newer = conflict.current
        newer_text = await editor.version_text(document, newer.number if newer else 0)
        context.update(conflict=_version(newer) if newer else None, newer_text=newer_text)
        return _page(request, "edit.html", context, status=409)
    raise web.HTTPSeeOther(f"/edit?{_query(document)}&saved=1")


async def preview(request: web.Request) -> web.StreamResponse:
    """The text being typed, rendered as a customer would see it, or why it would be refused (JSON)."""
    editor = request.app[EDITOR_KEY]
    form = await request.post()
    document = await _document(request, form)
    if document.name == FLOW_DOCUMENT:
        try:
            editor.check_flow(await editor.texts(document.scope), _field(form, "text"))
        except Refused as refused:
            return web.json_response({"ok": False, "problem": say(refused.reason), "line": refused.line})
        return web.json_response({"ok": True})
    name, language = _template(document)
    try:
        rendered = await editor.preview(document.scope, name, language, _field(form, "text"))
    except Refused as refused:
        return web.json_response({"ok": False, "problem": say(refused.reason), "line": refused.line})
    buttons = [[label for label, _ in row] for row in rendered.buttons]
    return web.json_response({"ok": True, "html": rendered.text, "buttons": buttons})


async def history(request: web.Request) -> web.StreamResponse:
    editor = request.app[EDITOR_KEY]
    document = await _document(request, request.query)
    versions = await editor.overrides.history(document)
    newest = versions[-1].number if versions else 0
    try:
        new = int(request.query.get("to", newest))
        old = int(request.query.get("from", max(new - 1, 0)))
    except ValueError:
        raise InvalidInput(problem("web_diff_not_numbers", "from and to must be version numbers")) from None
    if not (0 <= old <= newest and 0 <= new <= newest):
        raise InvalidInput(problem("web_version_range", "versions go from 0 to {newest}", newest=newest))
    context = {
        **await _document_context(editor.store, document),
        "versions": [_version(v) for v in reversed(versions)],
        "newest": newest,
        "old": old,
        "new": new,
        "diff": await editor.diff_lines(document, old, new) if newest else [],
    }
    return _page(request, "history.html", context)


async def rollback(request: web.Request) -> web.StreamResponse:
    """Go back to a version, once confirmed: the history's buttons lead to a page that shows what would change
    and asks (a GET, or a POST without `confirmed`, changes nothing); its button confirms."""
    editor = request.app[EDITOR_KEY]
    values: Any = await request.post() if request.method == "POST" else request.query
    document = await _document(request, values)
    try:
        to, expected = int(_field(values, "to")), int(_field(values, "expected"))
    except ValueError:
        raise InvalidInput(problem("web_rollback_not_number", "the version to go back to is not a number")) from None
    if request.method != "POST" or values.get("confirmed") != "yes":
        newest = await editor.latest_number(document)
        if not 0 <= to <= newest:
            raise InvalidInput(problem("web_version_range", "versions go from 0 to {newest}", newest=newest))
        context = {
            **await _document_context(editor.store, document),
            "title": "Rétablir une version",
            "to": to,
            "expected": expected,
            "newest": newest,
            "stale": expected != newest,
            "diff": await editor.diff_lines(document, newest, to),
        }
        return _page(request, "rollback.html", context)
    try:
        await editor.rollback(_session(request).admin, document, to, expected=expected)
    except (Refused, VersionConflict) as refused:
        return _page(
            request, "message.html", {"title": "Refusé", "message": "refused", "problem": refusal_text(refused)}, 409
        )
    raise web.HTTPSeeOther(f"/history?{_query(document)}")


async def dashboard(request: web.Request) -> web.StreamResponse:
    """The insights of a brand or a venue over a period; a bad choice is explained above the form."""
    store = request.app[EDITOR_KEY].store
    admin = _session(request).admin
    form = await dashboard_form(store, admin, request.query)
    context: dict[str, Any] = {"title": "Tableau de bord", "form": form, "problem": None, "figures": None}
    if not form["brand"]:  # an operator, before any brand exists
        return _page(request, "dashboard.html", context)
    try:
        context["figures"] = await dashboard_figures(store, admin, form)
    except (NotAllowed, NotFound, InvalidInput) as refused:
        status = 403 if isinstance(refused, NotAllowed) else 404 if isinstance(refused, NotFound) else 400
        context["problem"] = refusal_text(refused)
        return _page(request, "dashboard.html", context, status=status)
    return _page(request, "dashboard.html", context)


async def inbox(request: web.Request) -> web.StreamResponse:
    """A brand's feedback newest first, filtered, searched, a page at a time; a bad choice is explained."""
    store = request.app[EDITOR_KEY].store
    admin = _session(request).admin
    context: dict[str, Any] = {
        "title": "Retours", "problem": None, "page": None, "form": None, "filters": FILTERS,
        "kind_names": KIND_NAMES, "status_names": STATUS_NAMES, "channel_names": CHANNEL_NAMES,
    }  # fmt: skip
    multi = {name: request.query.getall(name, []) for name in FILTERS}
    try:
        context["form"] = form = await inbox_form(store, admin, request.query, multi)
        if form["brand"]:
            context["page"] = await inbox_page(store.redis, form)
    except (NotAllowed, NotFound, InvalidInput) as refused:
        status = 403 if isinstance(refused, NotAllowed) else 404 if isinstance(refused, NotFound) else 400
        context["problem"] = refusal_text(refused)
        return _page(request, "inbox.html", context, status=status)
    return _page(request, "inbox.html", context)


async def inbox_new(request: web.Request) -> web.StreamResponse:
    """The rows stored after position `after` that match the inbox's filters (JSON, for the page's polling)."""
    store = request.app[EDITOR_KEY].store
    multi = {name: request.query.getall(name, []) for name in FILTERS}
    try:
        form = await inbox_form(store, _session(request).admin, request.query, multi)
        after = request.query.get("after", "")
        if not after.isdigit():
            raise InvalidInput(problem("web_after_position", "after must be a position"))
        found = await new_rows(store.redis, form, int(after))
    except (NotAllowed, NotFound, InvalidInput) as refused:
        status = 403 if isinstance(refused, NotAllowed) else 404 if isinstance(refused, NotFound) else 400
        return web.json_response({"problem": refusal_text(refused)}, status=status)
    template = request.app[PAGES_KEY].get_template("inbox_rows.html")
    rows = template.render({"rows": found["rows"], "form": form})
    response = web.json_response({"newest": found["newest"], "count": found["count"], "rows": rows})
    response.headers["Cache-Control"] = "no-store"
    return response


async def ticket_page(request: web.Request) -> web.StreamResponse:
    """A ticket's thread, analysis, and (with a relay) the answer box and its Close / Reopen / Spam buttons."""
    store = request.app[EDITOR_KEY].store
    tickets = TicketStore(store.redis)
    try:
        ticket = await visible_ticket(
            store, tickets, _session(request).admin, request.match_info["brand"], request.match_info["number"]
        )
    except NotAllowed as refused:
        return _page(
            request, "message.html", {"title": "Refusé", "message": "refused", "problem": refusal_text(refused)}, 403
        )
    except NotFound as missing:
        return _page(
            request,
            "message.html",
            {"title": "Introuvable", "message": "refused", "problem": refusal_text(missing)},
            404,
        )
    context = await ticket_context(store, tickets, ticket)
    context.update(
        title=f"Ticket n° {ticket.number}",
        can_act=RELAY_KEY in request.app,
        outcome=OUTCOMES.get(request.query.get("done", "")),
        nonce=secrets.token_urlsafe(16),
    )
    return _page(request, "ticket.html", context)


async def ticket_action(request: web.Request) -> web.StreamResponse:
    """Answer, close, reopen or mark as spam, through the staff side's relay (as in the staff room); then back
    to the ticket's page, which says what became of it."""
    store = request.app[EDITOR_KEY].store
    tickets = TicketStore(store.redis)
    session = _session(request)
    brand, number, action = (request.match_info[name] for name in ("brand", "number", "action"))
    if action not in ("reply", "close", "reopen", "spam"):
        raise web.HTTPNotFound()
    try:
        ticket = await visible_ticket(store, tickets, session.admin, brand, number)
    except NotAllowed as refused:
        return _page(
            request, "message.html", {"title": "Refusé", "message": "refused", "problem": refusal_text(refused)}, 403
        )
    except NotFound as missing:
        return _page(
            request,
            "message.html",
            {"title": "Introuvable", "message": "refused", "problem": refusal_text(missing)},
            404,
        )
    relay = request.app.get(RELAY_KEY)
    if relay is None:
        why = (
            "cette administration web n'a pas de jeton Telegram (PAROLE_TELEGRAM_TOKEN) : "
            "les tickets sont affichés, pas traités"
        )
        return _page(request, "message.html", {"title": "Refusé", "message": "refused", "problem": why}, 503)
    form = await request.post()
    if action == "reply":
        nonce = _field(form, "nonce")
        if not 16 <= len(nonce) <= 64:
            raise InvalidInput(problem("web_nonce_missing", "the form's nonce is missing"))
        done = await relay.from_web(ticket, _field(form, "text"), nonce=nonce, by=session.admin.name)
    elif action == "reopen":
        done = "already" if ticket.status.is_open else "reopened"
        if not ticket.status.is_open:
            await relay.reopen(ticket)
    else:
        done = "already" if not ticket.status.is_open else "spam" if action == "spam" else "closed"
        if ticket.status.is_open:
            await relay.close(ticket, TicketStatus.SPAM if action == "spam" else TicketStatus.CLOSED)
    log.info("web admin %s: %s on ticket %s/%s: %s", session.admin.name, action, brand, ticket.number, done)
    raise web.HTTPSeeOther(f"/ticket/{brand}/{ticket.number}?{urlencode({'done': done})}")


async def mail_page(request: web.Request) -> web.StreamResponse:
    """A brand's e-mail addresses, what each gets, the forms that add, remove and try them, and whether an SMTP
    server sends anything."""
    store = request.app[EDITOR_KEY].store
    admin = _session(request).admin
    try:
        brand = await mail_brand(store, admin, request.query.get("brand", ""))
    except (NotAllowed, NotFound) as refused:
        return _refused_page(request, refused, 403 if isinstance(refused, NotAllowed) else 404)
    context = await mail_context(store, admin, brand, request.app.get(SMTP_KEY))
    context["outcome"] = outcome_of(request.query)
    return _page(request, "mail.html", context)


async def mail_action(request: web.Request) -> web.StreamResponse:
    """Add, remove or try an address (`bot.staff.mail.RecipientStore`, as `parole mail`); then back to the page,
    which says what became of it. A refusal shows the page again with why, the add form as sent, nothing changed."""
    store = request.app[EDITOR_KEY].store
    session = _session(request)
    action = request.match_info["action"]
    if action not in ("add", "remove", "test"):
        raise web.HTTPNotFound()
    form = await request.post()
    try:
        brand = await mail_brand(store, session.admin, _field(form, "brand"))
    except (NotAllowed, NotFound) as refused:
        return _refused_page(request, refused, 403 if isinstance(refused, NotAllowed) else 404)
    if not brand:
        raise NotFound("brand", "")
    values = form_values(form)
    status = 400
    try:
        if action == "add":
            address = (await RecipientStore(store.redis).add(brand, recipient_of(values), replace=False)).address
            done = "added"
        elif action == "remove":
            address = _field(form, "email").strip()
            if not await RecipientStore(store.redis).remove(brand, address):
                raise NotFound("e-mail address", address)
            done = "removed"
        else:
            trial = request.app.get(TRIAL_MAIL_KEY)
            if trial is None:
                status = 503
                text = "PAROLE_SMTP_HOST is not set: no e-mail goes out until it is"
                raise InvalidInput(problem("mail_no_smtp", text))
            address = _field(form, "email").strip()
            done = await trial.send(store, brand, address, by=session.admin.name)
    except (NotFound, InvalidInput) as refused:
        status = 404 if isinstance(refused, NotFound) else 429 if isinstance(refused, TooSoon) else status
        context = await mail_context(store, session.admin, brand, request.app.get(SMTP_KEY))
        context.update(problem=refusal_text(refused), form=values if action == "add" else context["form"])
        response = _page(request, "mail.html", context, status)
        if isinstance(refused, TooSoon):
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    log.info("web admin %s: e-mail %s %s for %s: %s", session.admin.name, action, address, brand, done)
    raise web.HTTPSeeOther(f"/mail?{urlencode({'brand': brand, 'done': done, 'address': address})}")


# --- helpers --------------------------------------------------------------------------------------------


def _session(request: web.Request) -> WebSession:
    return request[SESSION_KEY]


async def _scope(request: web.Request, label: str | None) -> Scope:
    """The scope asked for (default: the admin's brand, or global for an operator), if they may see it."""
    admin = _session(request).admin
    if not label:
        return Scope(admin.brand)
    scope = Scope.parse(label)
    await request.app[EDITOR_KEY].check_scope(admin, scope)
    return scope


async def _document(request: web.Request, values: Any) -> Document:
    scope = await _scope(request, values.get("scope"))
    name = values.get("doc")
    if not isinstance(name, str) or not name:
        raise InvalidInput(problem("web_doc_missing", "which template or flow? (doc is missing)"))
    if name == FLOW_DOCUMENT:
        return Document(scope, FLOW_DOCUMENT)
    kind, _, rest = name.partition(":")
    template, _, language = rest.partition(":")
    if kind != "template" or not template or not language:
        raise InvalidInput(
            problem("web_doc_unknown", "{name!r} is neither a template (template:NAME:LANG) nor the flow", name=name)
        )
    request.app[EDITOR_KEY].check_template_name(template, language)
    return Document(scope, template_document(template, language))


def _template(document: Document) -> tuple[str, str]:
    return template_parts(document.name)


async def _edit_context(
    editor: Editor, document: Document, *, text: str | None = None, expected: int | None = None
) -> dict[str, Any]:
    latest = await editor.latest_number(document)
    if document.name == FLOW_DOCUMENT:
        current = (await editor.texts(document.scope)).flow_text
        description = "The questions, their order, branches and buttons (YAML)."
    else:
        name, language = _template(document)
        current = await editor.template_source(document.scope, name, language)
        description = editor.base.description(name)
    texts = await editor.texts(document.scope)
    origin = texts.origins.get(document.name)
    variables: dict[str, Any] = {}
    if document.name != FLOW_DOCUMENT:
        values = await editor.preview_values(document.scope, _template(document)[0])
        variables = {name: _shown(value) for name, value in values.items()}
    return {
        **await _document_context(editor.store, document),
        "variables": variables,
        "description": description,
        "text": current if text is None else text,
        "expected": latest if expected is None else expected,
        "origin": origin[0].label() if origin else "default",
        "problem": None,
        "line": None,
        "conflict": None,
        "newer_text": None,
        "saved": False,
    }


async def _document_context(store: Store, document: Document) -> dict[str, Any]:
    is_flow = document.name == FLOW_DOCUMENT
    return {
        "scope": document.scope.label(),
        "scope_name": await _scope_name(store, document.scope),
        "doc": document.name,
        "is_flow": is_flow,
        "what": "flow" if is_flow else " · ".join(_template(document)),
        "query": _query(document),
    }


def _query(document: Document) -> str:
    return urlencode({"scope": document.scope.label(), "doc": document.name})


def _version(version: Version) -> dict[str, Any]:
    return {
        "number": version.number,
        "author": version.author,
        "at": Formats().moment(version.at),
        "action": version.action.value,
        "source": version.source,
        "removed": version.content is None,
    }


#: The longest value the editor's list of variables shows (a card's analysis, cut after this many characters).
SHOWN_VALUE_LENGTH: Final = 60


def _shown(value: Any) -> str:
    """A variable's preview value as the editor lists it: a text in French quotes, anything else as JSON."""
    text = f"« {value} »" if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN_VALUE_LENGTH else text[: SHOWN_VALUE_LENGTH - 1] + "…"


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        raise InvalidInput(problem("web_form_lacks", "the form lacks {name}", name=name))
    return value


async def _visible_scopes(store: Store, admin: Admin) -> list[tuple[str, str]]:
    """The scopes the admin may choose, each as (label, name to show)."""
    brands = await store.list_brands() if admin.brand is None else [await store.get_brand(admin.brand)]
    scopes = [("global", GLOBAL_NAME)] if admin.brand is None else []
    for brand in brands:
        scopes.append((brand.code, brand.name))
        scopes += [
            (f"{brand.code}/{venue.code}", f"{brand.name} · {venue.name}")
            for venue in await store.list_venues(brand.code)
        ]
    return scopes


async def _scope_name(store: Store, scope: Scope) -> str:
    """A scope as people call it: the brand's name, and the venue's after it."""
    if scope.brand is None:
        return GLOBAL_NAME
    brand = (await store.get_brand(scope.brand)).name
    if scope.venue is None:
        return brand
    return f"{brand} · {(await store.get_venue(scope.brand, scope.venue)).name}"


def _page(request: web.Request, page: str, context: dict[str, Any], status: int = 200) -> web.Response:
    session = request.get(SESSION_KEY)
    base = {
        "csrf": session.csrf if isinstance(session, WebSession) else "",
        "admin": session.admin if isinstance(session, WebSession) else None,
        "admin_brand_name": request.get(BRAND_NAME_KEY),
        "title": context.get("title", "parole"),
    }
    html = request.app[PAGES_KEY].get_template(page).render({**base, **context})
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Content-Security-Policy"] = _POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


async def serve_web(
    editor: Editor,
    logins: WebLogins,
    *,
    host: str,
    port: int,
    secure_cookies: bool = False,
    relay: Relay | None = None,
    smtp: SmtpSettings | None = None,
) -> None:
    """Serve the web admin until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(web_app(editor, logins, secure_cookies=secure_cookies, relay=relay, smtp=smtp))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("web admin on http://%s:%s", host, port)
        await stop.wait()
    finally:
        await runner.cleanup()

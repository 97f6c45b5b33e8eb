"""`parole web`: the web admin (aiohttp + Jinja2 pages from `templates/web/`).

Pages: the templates of a scope, the editor with a live preview, the history with diffs and rollbacks,
the flow editor, the dashboard (`bot.web.dashboard`). Login by a one-time link only (`/weblogin` in the
bot, `parole web login-link`); the session cookie is HttpOnly and SameSite; every form and the preview
carry the session's CSRF token; a brand admin sees and edits only their brand.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from bot.editing.editor import Admin, Editor, Refused, template_parts
from bot.editing.logins import SESSION_SECONDS, WebLogins, WebSession
from bot.editing.overrides import FLOW_DOCUMENT, Document, Scope, Version, VersionConflict, template_document
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.storage.store import Store
from bot.web.dashboard import dashboard_figures, dashboard_form
from dialogs.catalog import default_templates_dir

log = logging.getLogger(__name__)

COOKIE: Final = "parole_session"
EDITOR_KEY: Final = web.AppKey("editor", Editor)
LOGINS_KEY: Final = web.AppKey("logins", WebLogins)
PAGES_KEY: Final = web.AppKey("pages", jinja2.Environment)
SESSION_KEY: Final = web.RequestKey("session", WebSession)
MAX_FORM_BYTES: Final = 256 * 1024

_POLICY: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def web_app(editor: Editor, logins: WebLogins) -> web.Application:
    """The web admin's aiohttp application."""
    app = web.Application(middlewares=[_session_middleware], client_max_size=MAX_FORM_BYTES)
    app[EDITOR_KEY] = editor
    app[LOGINS_KEY] = logins
    app[PAGES_KEY] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(default_templates_dir() / "web"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_get("/login/{token}", login_page)
    app.router.add_post("/login/{token}", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", index)
    app.router.add_get("/edit", edit_page)
    app.router.add_post("/edit", save)
    app.router.add_post("/preview", preview)
    app.router.add_get("/history", history)
    app.router.add_post("/rollback", rollback)
    app.router.add_get("/dashboard", dashboard)
    return app


# --- sessions -------------------------------------------------------------------------------------------


@web.middleware
async def _session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/login/"):
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
    try:
        return await handler(request)
    except (InvalidInput, NotFound) as refused:
        return _page(request, "message.html", {"title": "Refusé", "message": "refused", "problem": str(refused)}, 403)


async def login_page(request: web.Request) -> web.StreamResponse:
    """A button that logs in: a GET never uses the link up, so link previews and prefetchers cannot."""
    token = request.match_info["token"]
    if not await request.app[LOGINS_KEY].is_valid(token):
        return _page(request, "message.html", {"title": "Connexion", "message": "bad_link"}, status=403)
    return _page(request, "login.html", {"title": "Connexion", "token": token})


async def login(request: web.Request) -> web.StreamResponse:
    session = await request.app[LOGINS_KEY].redeem(request.match_info["token"])
    if session is None:
        return _page(request, "message.html", {"title": "Connexion", "message": "bad_link"}, status=403)
    response = web.Response(status=303, headers={"Location": "/"})
    response.set_cookie(
        COOKIE, session.session_id, max_age=SESSION_SECONDS, httponly=True, samesite="Lax", path="/",
        secure=request.secure,
    )  # fmt: skip
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[LOGINS_KEY].logout(_session(request).session_id)
    response = web.Response(status=303, headers={"Location": "/login/expired"})
    response.del_cookie(COOKIE, path="/")
    return response


# --- pages ----------------------------------------------------------------------------------------------


async def index(request: web.Request) -> web.StreamResponse:
    """The templates of a scope and where each text comes from."""
    editor = request.app[EDITOR_KEY]
    session = _session(request)
    scope = await _scope(request, request.query.get("scope"))
    language = request.query.get("language", "fr")
    editor.check_template_name("greeting", language)
    entries = [e for e in await editor.entries(scope) if e.language == language]
    texts = await editor.texts(scope)
    context = {
        "scope": scope.label(),
        "scopes": await _visible_scopes(editor.store, session.admin),
        "language": language,
        "languages": editor.base.languages,
        "entries": entries,
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
        raise InvalidInput("the form's version is not a number") from None
    try:
        if document.name == FLOW_DOCUMENT:
            await editor.set_flow(session.admin, document.scope, text, expected=expected)
        else:
            name, language = _template(document)
            await editor.set_template(session.admin, document.scope, name, language, text, expected=expected)
    except Refused as refused:
        context = await _edit_context(editor, document, text=text, expected=expected)
        context.update(problem=refused.problem, line=refused.line)
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
            return web.json_response({"ok": False, "problem": refused.problem, "line": refused.line})
        return web.json_response({"ok": True})
    name, language = _template(document)
    try:
        rendered = await editor.preview(document.scope, name, language, _field(form, "text"))
    except Refused as refused:
        return web.json_response({"ok": False, "problem": refused.problem, "line": refused.line})
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
        raise InvalidInput("from and to must be version numbers") from None
    if not (0 <= old <= newest and 0 <= new <= newest):
        raise InvalidInput(f"versions go from 0 to {newest}")
    context = {
        **_document_context(document),
        "versions": [_version(v) for v in reversed(versions)],
        "newest": newest,
        "old": old,
        "new": new,
        "diff": await editor.diff(document, old, new) if newest else "",
    }
    return _page(request, "history.html", context)


async def rollback(request: web.Request) -> web.StreamResponse:
    editor = request.app[EDITOR_KEY]
    form = await request.post()
    document = await _document(request, form)
    try:
        to, expected = int(_field(form, "to")), int(_field(form, "expected"))
    except ValueError:
        raise InvalidInput("the version to go back to is not a number") from None
    try:
        await editor.rollback(_session(request).admin, document, to, expected=expected)
    except (Refused, VersionConflict) as refused:
        return _page(request, "message.html", {"title": "Refusé", "message": "refused", "problem": str(refused)}, 409)
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
        context["problem"] = str(refused)
        return _page(request, "dashboard.html", context, status=status)
    return _page(request, "dashboard.html", context)


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
        raise InvalidInput("which template or flow? (doc is missing)")
    if name == FLOW_DOCUMENT:
        return Document(scope, FLOW_DOCUMENT)
    kind, _, rest = name.partition(":")
    template, _, language = rest.partition(":")
    if kind != "template" or not template or not language:
        raise InvalidInput(f"{name!r} is neither a template (template:NAME:LANG) nor the flow")
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
    return {
        **_document_context(document),
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


def _document_context(document: Document) -> dict[str, Any]:
    is_flow = document.name == FLOW_DOCUMENT
    return {
        "scope": document.scope.label(),
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
        "at": dt.datetime.fromtimestamp(version.at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "action": version.action.value,
        "source": version.source,
        "removed": version.content is None,
    }


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        raise InvalidInput(f"the form lacks {name}")
    return value


async def _visible_scopes(store: Store, admin: Admin) -> list[str]:
    brands = [b.code for b in await store.list_brands()] if admin.brand is None else [admin.brand]
    scopes = ["global"] if admin.brand is None else []
    for brand in brands:
        scopes.append(brand)
        scopes += [f"{brand}/{venue.code}" for venue in await store.list_venues(brand)]
    return scopes


def _page(request: web.Request, page: str, context: dict[str, Any], status: int = 200) -> web.Response:
    session = request.get(SESSION_KEY)
    base = {
        "csrf": session.csrf if isinstance(session, WebSession) else "",
        "admin": session.admin if isinstance(session, WebSession) else None,
        "title": context.get("title", "parole"),
    }
    html = request.app[PAGES_KEY].get_template(page).render({**base, **context})
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Content-Security-Policy"] = _POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


async def serve_web(editor: Editor, logins: WebLogins, *, host: str, port: int) -> None:
    """Serve the web admin until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(web_app(editor, logins))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("web admin on http://%s:%s", host, port)
        await stop.wait()
    finally:
        await runner.cleanup()

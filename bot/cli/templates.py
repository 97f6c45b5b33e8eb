"""`parole templates …` and `parole flows …`: the template and flow admin from the terminal.

The terminal is an operator's: every scope may be edited. A save is validated first (`bot.editing.editor`) and
refused with the reason and a non-zero exit; it goes on top of the newest version unless `--expected N`
says which version the text was written against (then a newer one refuses it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.app import editor, load_dialogs, open_redis
from bot.cli.notices import notice
from bot.config import Settings
from bot.editing.editor import Admin, Editor, Refused
from bot.editing.overrides import FLOW_DOCUMENT, Document, Scope, Version, template_document
from bot.errors import InvalidInput, ParoleError, Problem, problem
from bot.storage.store import Store

FLOW_FILE = "flow.yaml"
TEMPLATE_ACTIONS = ("list", "show", "set", "history", "diff", "rollback", "export", "import")
FLOW_ACTIONS = ("list", "show", "set", "history", "diff", "rollback", "export", "import")


def add_parsers(sub: Any) -> None:
    """Add `templates` and `flows` to the `parole` command line."""
    templates = sub.add_parser("templates", help="modèles de messages : list, show, set, history, diff, rollback…")
    templates.add_argument("action", choices=TEMPLATE_ACTIONS)
    templates.add_argument(
        "name", nargs="?", metavar="NOM", help="nom du modèle (list, export et import n'en prennent pas)"
    )
    templates.add_argument("--language", help="langue du modèle (par défaut fr ; list : toutes les langues)")
    flows = sub.add_parser(
        "flows", help="parcours de dialogue : list, show, set, history, diff, rollback, export, import"
    )
    flows.add_argument("action", choices=FLOW_ACTIONS)
    for parser in (templates, flows):
        parser.add_argument(
            "--brand", help="la version propre à la marque (par défaut : la version commune à toutes les marques)"
        )
        parser.add_argument("--venue", help="la version propre à un lieu (avec --brand)")
        parser.add_argument(
            "--file", type=Path, help="set : lit le texte dans ce fichier (par défaut l'entrée standard)"
        )
        parser.add_argument("--dir", type=Path, help="export/import : le dossier")
        parser.add_argument("--version", type=int, help="show : cette version au lieu de celle en vigueur")
        parser.add_argument(
            "--from", dest="old", type=int, help="diff : la version la plus ancienne (par défaut : la précédente)"
        )
        parser.add_argument(
            "--to",
            type=int,
            help="diff : la version la plus récente (par défaut : la dernière) ; rollback : la version visée",
        )
        parser.add_argument("--expected", type=int, help="set/rollback : refuse si la dernière version n'est pas N")
        parser.add_argument("--author", help="le nom enregistré avec la version (par défaut : le nom de connexion)")


@contextlib.asynccontextmanager
async def _editing(args: argparse.Namespace, settings: Settings) -> AsyncIterator[tuple[Store, Editor, Admin, Scope]]:
    """Redis, the editor, the terminal's admin (an operator) and the scope named by --brand/--venue."""
    scope = Scope(args.brand, args.venue)
    async with open_redis(settings) as redis:
        store = Store(redis)
        edit = editor(store, load_dialogs(settings), settings)
        admin = Admin(_author(args))
        await edit.check_scope(admin, scope)
        yield store, edit, admin, scope


async def run_templates(args: argparse.Namespace, settings: Settings) -> int:
    async with _editing(args, settings) as (_, edit, admin, scope):
        if args.action == "list":
            for entry in await edit.entries(scope):
                if args.language in (entry.language, None):
                    _print_json(
                        {
                            "name": entry.name,
                            "language": entry.language,
                            "origin": entry.origin,
                            "version": entry.version,
                            "description": entry.description,
                        }
                    )
            return 0
        if args.action == "export":
            return await _export_templates(edit, scope, _directory(args))
        if args.action == "import":
            return await _import_templates(edit, admin, scope, _directory(args))
        name, language = _name(args), args.language or "fr"
        edit.check_template_name(name, language)
        document = Document(scope, template_document(name, language))
        if args.action == "set":
            expected = await _expected(edit, document, args)
            version = await edit.set_template(admin, scope, name, language, _read(args), expected=expected)
            _print_json({"name": name, "language": language, "scope": scope.label(), **_version(version)})
            return 0
        if args.action == "show" and args.version is None:
            sys.stdout.write(await edit.template_source(scope, name, language))
            return 0
        return await _common(edit, admin, document, args)


async def run_flows(args: argparse.Namespace, settings: Settings) -> int:
    async with _editing(args, settings) as (store, edit, admin, scope):
        document = Document(scope, FLOW_DOCUMENT)
        if args.action == "list":
            for where in await _all_scopes(store):
                texts = await edit.texts(where)
                _print_json({"scope": where.label(), "flow": texts.flow.name, "version": texts.flow_ref or "default"})
            return 0
        if args.action == "set":
            version = await edit.set_flow(admin, scope, _read(args), expected=await _expected(edit, document, args))
            _print_json({"scope": scope.label(), **_version(version)})
            return 0
        if args.action == "show" and args.version is None:
            sys.stdout.write((await edit.texts(scope)).flow_text)
            return 0
        if args.action == "export":
            directory = _directory(args)
            directory.mkdir(parents=True, exist_ok=True)
            (directory / FLOW_FILE).write_text((await edit.texts(scope)).flow_text, encoding="utf-8")
            notice(
                problem(
                    "cli_flow_exported",
                    "exported the flow of {scope} to {path}",
                    scope=scope.label(),
                    path=str(directory / FLOW_FILE),
                )
            )
            return 0
        if args.action == "import":
            path = _directory(args) / FLOW_FILE
            text = _read_file(path)
            if text == (await edit.texts(scope)).flow_text:
                notice(problem("cli_flow_unchanged", "the flow is unchanged: nothing saved"))
                return 0
            try:
                version = await edit.set_flow(admin, scope, text, expected=await edit.latest_number(document))
            except Refused as refused:
                raise _refused_in(path, refused) from refused
            _print_json({"scope": scope.label(), **_version(version)})
            return 0
        return await _common(edit, admin, document, args)


async def _common(edit: Editor, admin: Admin, document: Document, args: argparse.Namespace) -> int:
    """show --version, history, diff, rollback: the same for a template and a flow."""
    if args.action == "show":
        sys.stdout.write(await edit.version_text(document, args.version))
    elif args.action == "history":
        for version in await edit.overrides.history(document):
            _print_json(_version(version))
    elif args.action == "diff":
        newest = await edit.latest_number(document)
        new = newest if args.to is None else args.to
        old = max(new - 1, 0) if args.old is None else args.old
        for number in (new, old):
            if not 0 <= number <= newest:
                raise InvalidInput(
                    problem(
                        "cli_no_version",
                        "version {number} does not exist: {document} has 0 to {newest}",
                        number=number,
                        document=document.describe(),
                        newest=newest,
                    )
                )
        sys.stdout.write(await edit.diff(document, old, new))
    else:  # rollback
        if args.to is None:
            raise InvalidInput(problem("cli_rollback_to", "rollback needs --to N (0: back to the default)"))
        version = await edit.rollback(admin, document, args.to, expected=await _expected(edit, document, args))
        _print_json({"document": document.name, "scope": document.scope.label(), **_version(version)})
    return 0


async def _export_templates(edit: Editor, scope: Scope, directory: Path) -> int:
    """Every template in force for the scope, as `DIR/LANG/NAME.j2` (the layout of templates/bot/)."""
    catalog = (await edit.texts(scope)).catalog
    count = 0
    for name in catalog.names:
        for language in catalog.languages:
            if catalog.has(name, language):
                path = directory / language / f"{name}.j2"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(catalog.source(name, language), encoding="utf-8")
                count += 1
    notice(
        problem(
            "cli_templates_exported",
            "exported {count:template|templates} of {scope} to {path}",
            count=count,
            scope=scope.label(),
            path=str(directory),
        )
    )
    return 0


async def _import_templates(edit: Editor, admin: Admin, scope: Scope, directory: Path) -> int:
    """Save every `DIR/LANG/NAME.j2` that differs from the text in force; all are checked before any is saved."""
    if not directory.is_dir():
        raise InvalidInput(problem("cli_not_a_directory", "{path} is not a directory", path=str(directory)))
    texts = await edit.texts(scope)
    changed: list[tuple[str, str, str]] = []
    for path in sorted(directory.glob("*/*.j2")):
        name, language = path.stem, path.parent.name
        try:
            edit.check_template_name(name, language)
            source = _read_file(path)
            current = texts.catalog.source(name, language) if texts.catalog.has(name, language) else None
            if source != current:
                edit.check_template(texts, name, language, source)
                changed.append((name, language, source))
        except ParoleError as refused:  # nothing is saved: say which file, and the line in it
            raise _refused_in(path, refused) from refused
    for name, language, source in changed:
        expected = await edit.latest_number(Document(scope, template_document(name, language)))
        version = await edit.set_template(admin, scope, name, language, source, expected=expected)
        _print_json({"name": name, "language": language, "scope": scope.label(), **_version(version)})
    notice(
        problem(
            "cli_templates_imported",
            "imported {count:changed template|changed templates} into {scope}",
            count=len(changed),
            scope=scope.label(),
        )
    )
    return 0


async def _all_scopes(store: Store) -> list[Scope]:
    scopes = [Scope()]
    for brand in await store.list_brands():
        scopes.append(Scope(brand.code))
        scopes += [Scope(brand.code, venue.code) for venue in await store.list_venues(brand.code)]
    return scopes


async def _expected(edit: Editor, document: Document, args: argparse.Namespace) -> int:
    return int(args.expected) if args.expected is not None else await edit.latest_number(document)


def _name(args: argparse.Namespace) -> str:
    if not args.name:
        raise InvalidInput(
            problem(
                "cli_needs_name",
                "templates {action} needs a template name (see: parole templates list)",
                action=args.action,
            )
        )
    return str(args.name)


def _directory(args: argparse.Namespace) -> Path:
    if args.dir is None:
        raise InvalidInput(problem("cli_needs_dir", "{action} needs --dir DIR", action=args.action))
    return Path(args.dir)


def _author(args: argparse.Namespace) -> str:
    if args.author:
        return str(args.author)
    try:
        return f"terminal:{getpass.getuser()}"
    except (KeyError, OSError):
        return "terminal"


def _read(args: argparse.Namespace) -> str:
    if args.file is not None:
        return _read_file(args.file)
    if sys.stdin.isatty():
        raise InvalidInput(problem("cli_needs_text", "give the new text with --file F or on standard input"))
    return sys.stdin.read()


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            problem("cli_unreadable", "cannot read {path}: {error}", path=str(path), error=_os_problem(exc))
        ) from exc


def _version(version: Version) -> dict[str, Any]:
    at = dt.datetime.fromtimestamp(version.at, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    record = {"version": version.number, "author": version.author, "at": at, "action": version.action.value}
    if version.source is not None:
        record["from_version"] = version.source
    return record


def _refused_in(path: Path, refused: ParoleError) -> InvalidInput:
    """A refusal that names the file (and its line) it is about."""
    line = getattr(refused, "line", None)
    where = f"{path}:{line}" if isinstance(line, int) else str(path)
    return InvalidInput(problem("cli_import_refused", "{path}: {problem}", path=where, problem=refused.reason))


def _os_problem(error: Exception) -> Problem:
    """Why a file cannot be read, in words (the system's own message is English)."""
    if isinstance(error, FileNotFoundError):
        return problem("file_missing", "no such file")
    if isinstance(error, PermissionError):
        return problem("file_permission", "permission denied")
    if isinstance(error, IsADirectoryError):
        return problem("file_is_directory", "it is a directory")
    if isinstance(error, UnicodeDecodeError):
        return problem("file_not_utf8", "not UTF-8 text")
    return problem("file_error", "{error}", error=str(error))


def _print_json(record: dict[str, Any]) -> None:
    print(json.dumps(record, ensure_ascii=False))

"""What the Cloud API accepts in `POST /<version>/<phone-number-id>/messages`, checked strictly, and its errors.

Every check raises `CloudApiError` with the Graph API's code and HTTP status, as Meta's documentation gives
them: an unknown field, a missing one, a value past its limit all fail the send, as they do at Meta.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, Final

TEXT_BODY: Final = 4096
INTERACTIVE_BODY: Final = 1024
HEADER_TEXT: Final = 60
FOOTER_TEXT: Final = 60
BUTTON_TITLE: Final = 20
BUTTON_ID: Final = 256
REPLY_BUTTONS: Final = 3
LIST_BUTTON: Final = 20
LIST_SECTIONS: Final = 10
LIST_ROWS: Final = 10
ROW_TITLE: Final = 24
ROW_ID: Final = 200
ROW_DESCRIPTION: Final = 72
SECTION_TITLE: Final = 24
TEMPLATE_PARAMETER: Final = 1024

# Graph API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
INVALID_PARAMETER: Final = 100
ACCESS_TOKEN: Final = 190
RATE_LIMIT: Final = 130429
PAIR_RATE_LIMIT: Final = 131056
SERVER_ERROR: Final = 131000
SERVICE_UNAVAILABLE: Final = 131016
UNDELIVERABLE: Final = 131026
OUTSIDE_WINDOW: Final = 131047
PARAMETER_MISSING: Final = 131008
PARAMETER_INVALID: Final = 131009
TEMPLATE_MISSING: Final = 132001
TEMPLATE_PARAMETERS: Final = 132000
TEMPLATE_PARAMETER_FORMAT: Final = 132018

_TITLES = {
    INVALID_PARAMETER: "Invalid parameter",
    ACCESS_TOKEN: "Error validating access token: Session has expired",
    RATE_LIMIT: "Rate limit hit",
    PAIR_RATE_LIMIT: "(Business Account, Consumer Account) pair rate limit hit",
    SERVER_ERROR: "Something went wrong",
    SERVICE_UNAVAILABLE: "Service unavailable",
    UNDELIVERABLE: "Message Undeliverable",
    OUTSIDE_WINDOW: "Re-engagement message",
    PARAMETER_MISSING: "Required parameter is missing",
    PARAMETER_INVALID: "Parameter value is not valid",
    TEMPLATE_MISSING: "Template name does not exist in the translation",
    TEMPLATE_PARAMETERS: "Number of parameters does not match the expected number of params",
    TEMPLATE_PARAMETER_FORMAT: "There was an error with the parameters in the template",
}


def http_status(code: int) -> int:
    """The HTTP status the Graph API answers an error code with."""
    if code == ACCESS_TOKEN:
        return 401
    if code in (SERVER_ERROR, SERVICE_UNAVAILABLE):
        return 503 if code == SERVICE_UNAVAILABLE else 500
    return 400


class CloudApiError(Exception):
    """A call the Cloud API refuses: its error code (and subcode, where the Graph API gives one), HTTP status
    and details."""

    def __init__(self, code: int, details: str, *, subcode: int | None = None, status: int | None = None) -> None:
        self.code = code
        self.details = details
        self.subcode = subcode
        self.status = status if status is not None else http_status(code)
        super().__init__(f"({code}) {details}")

    def body(self) -> dict[str, Any]:
        """The Graph API's error object."""
        error: dict[str, Any] = {
            "message": f"({'#'}{self.code}) {_TITLES.get(self.code, 'Error')}",
            "type": "OAuthException",
            "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
            "fbtrace_id": "emulated",
        }
        if self.subcode is not None:  # a GET of an object the Graph API does not know
            error.update(message=self.details, type="GraphMethodException", error_subcode=self.subcode)
        return {"error": error}


def _fields(where: str, value: object, required: set[str], optional: Collection[str] = ()) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CloudApiError(INVALID_PARAMETER, f"{where} must be an object")
    missing = required - value.keys()
    if missing:
        raise CloudApiError(PARAMETER_MISSING, f"{where}: {sorted(missing)[0]} is required")
    unknown = value.keys() - required - set(optional)
    if unknown:
        raise CloudApiError(INVALID_PARAMETER, f"{where}: unexpected key {sorted(unknown)[0]!r}")
    return value


def _text(where: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CloudApiError(PARAMETER_INVALID, f"{where} must be a non-empty string")
    if len(value) > limit:
        raise CloudApiError(PARAMETER_INVALID, f"{where} is {len(value)} characters; the limit is {limit}")
    return value


def check_text(text: object) -> str:
    body = _fields("text", text, {"body"}, {"preview_url"})
    if "preview_url" in body and not isinstance(body["preview_url"], bool):
        raise CloudApiError(PARAMETER_INVALID, "text.preview_url must be a boolean")
    return _text("text.body", body["body"], TEXT_BODY)


def check_interactive(interactive: object) -> tuple[str, dict[str, str]]:
    """The body of a valid interactive message and its choices (id → title)."""
    message = _fields("interactive", interactive, {"type", "body", "action"}, {"header", "footer"})
    body = _text(
        "interactive.body.text", _fields("interactive.body", message["body"], {"text"})["text"], INTERACTIVE_BODY
    )
    if "header" in message:
        header = _fields("interactive.header", message["header"], {"type", "text"})
        if header["type"] != "text":
            raise CloudApiError(PARAMETER_INVALID, "interactive.header.type: only text headers are emulated")
        _text("interactive.header.text", header["text"], HEADER_TEXT)
    if "footer" in message:
        _text(
            "interactive.footer.text", _fields("interactive.footer", message["footer"], {"text"})["text"], FOOTER_TEXT
        )
    kind = message["type"]
    if kind == "button":
        return body, _reply_buttons(message["action"])
    if kind == "list":
        return body, _list(message["action"])
    raise CloudApiError(PARAMETER_INVALID, f"interactive.type {kind!r} is not button or list")


def _reply_buttons(action: object) -> dict[str, str]:
    buttons = _fields("interactive.action", action, {"buttons"})["buttons"]
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= REPLY_BUTTONS:
        raise CloudApiError(PARAMETER_INVALID, f"interactive.action.buttons: 1 to {REPLY_BUTTONS} buttons")
    choices: dict[str, str] = {}
    for n, button in enumerate(buttons):
        where = f"interactive.action.buttons[{n}]"
        if _fields(where, button, {"type", "reply"})["type"] != "reply":
            raise CloudApiError(PARAMETER_INVALID, f"{where}.type must be reply")
        reply = _fields(f"{where}.reply", button["reply"], {"id", "title"})
        button_id = _text(f"{where}.reply.id", reply["id"], BUTTON_ID)
        title = _text(f"{where}.reply.title", reply["title"], BUTTON_TITLE)
        if button_id in choices or title in choices.values():
            raise CloudApiError(PARAMETER_INVALID, f"{where}: button ids and titles must be unique")
        choices[button_id] = title
    return choices


def _list(action: object) -> dict[str, str]:
    fields = _fields("interactive.action", action, {"button", "sections"})
    _text("interactive.action.button", fields["button"], LIST_BUTTON)
    sections = fields["sections"]
    if not isinstance(sections, list) or not 1 <= len(sections) <= LIST_SECTIONS:
        raise CloudApiError(PARAMETER_INVALID, f"interactive.action.sections: 1 to {LIST_SECTIONS} sections")
    choices: dict[str, str] = {}
    for n, section in enumerate(sections):
        where = f"interactive.action.sections[{n}]"
        checked = _fields(where, section, {"rows"}, {"title"})
        if "title" in checked or len(sections) > 1:
            _text(f"{where}.title", checked.get("title"), SECTION_TITLE)
        rows = checked["rows"]
        if not isinstance(rows, list) or not rows:
            raise CloudApiError(PARAMETER_INVALID, f"{where}.rows: at least one row")
        for m, row in enumerate(rows):
            row_fields = _fields(f"{where}.rows[{m}]", row, {"id", "title"}, {"description"})
            row_id = _text(f"{where}.rows[{m}].id", row_fields["id"], ROW_ID)
            title = _text(f"{where}.rows[{m}].title", row_fields["title"], ROW_TITLE)
            if "description" in row_fields:
                _text(f"{where}.rows[{m}].description", row_fields["description"], ROW_DESCRIPTION)
            if row_id in choices:
                raise CloudApiError(PARAMETER_INVALID, f"{where}.rows[{m}].id {row_id!r} is not unique")
            choices[row_id] = title
    if len(choices) > LIST_ROWS:
        raise CloudApiError(PARAMETER_INVALID, f"interactive list: {len(choices)} rows; the limit is {LIST_ROWS}")
    return choices


_PARAMETER_FORMAT = re.compile(r"[\n\t]| {5,}")


def check_template(template: object, known: Mapping[str, Mapping[str, int]]) -> tuple[str, list[str]]:
    """The name and body parameters of a valid send of a known template (`known`: name → language → count)."""
    fields = _fields("template", template, {"name", "language"}, {"components"})
    name, language = fields["name"], _fields("template.language", fields["language"], {"code"}, {"policy"})["code"]
    if not isinstance(name, str) or name not in known or language not in known[name]:
        raise CloudApiError(TEMPLATE_MISSING, f"template {name!r} does not exist in {language!r}")
    parameters: list[str] = []
    components = fields.get("components", [])
    if not isinstance(components, list):
        raise CloudApiError(INVALID_PARAMETER, "template.components must be a list")
    for n, component in enumerate(components):
        checked = _fields(f"template.components[{n}]", component, {"type", "parameters"})
        if checked["type"] != "body" or not isinstance(checked["parameters"], list):
            raise CloudApiError(PARAMETER_INVALID, f"template.components[{n}]: only body parameters are emulated")
        for m, parameter in enumerate(checked["parameters"]):
            where = f"template.components[{n}].parameters[{m}]"
            value = _fields(where, parameter, {"type", "text"})
            if value["type"] != "text":
                raise CloudApiError(PARAMETER_INVALID, f"{where}.type must be text")
            text = _text(f"{where}.text", value["text"], TEMPLATE_PARAMETER)
            if _PARAMETER_FORMAT.search(text):
                raise CloudApiError(
                    TEMPLATE_PARAMETER_FORMAT, f"{where}: no new-line or tab, nor more than 4 consecutive spaces"
                )
            parameters.append(text)
    if len(parameters) != known[name][language]:
        raise CloudApiError(TEMPLATE_PARAMETERS, f"template {name!r} takes {known[name][language]} parameter(s)")
    return name, parameters

"""A browser without a browser, for the web chat's HTTP tests: it keeps cookies, reads the page as a person
would (messages, buttons, the form's hidden fields) and posts its forms, as a browser with JavaScript off."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp


@dataclass
class Message:
    author: str
    text: str = ""
    id: int = 0
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, data)
    file: str | None = None


@dataclass
class Page:
    status: int
    html: str
    messages: list[Message]
    fields: dict[str, str]  # the hidden fields of the answer form
    action: str
    headers: dict[str, str]

    @property
    def bot_texts(self) -> list[str]:
        return [m.text for m in self.messages if m.author == "bot"]

    @property
    def last(self) -> Message:
        return self.messages[-1]

    def text_of(self, element_id: str) -> str:
        found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', self.html, re.S)
        return found.group(1).strip() if found else ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []
        self.fields: dict[str, str] = {}
        self.action = ""
        self._in_text = 0
        self._button: list[str] | None = None
        self._depth_text = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "li" and "message" in a.get("class", ""):
            self.messages.append(Message("bot" if "bot" in a["class"] else "customer", id=int(a["id"][1:])))
        elif tag == "div" and a.get("class") == "text" and self.messages:
            self._in_text = 1
        elif self._in_text and tag == "br":
            self.messages[-1].text += "\n"
        elif self._in_text:
            self._in_text += 1
        elif tag == "form" and a.get("id") == "answer":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden" and a.get("name") in ("csrf", "turn", "after"):
            self.fields.setdefault(a["name"], a.get("value", ""))
        elif tag == "button" and a.get("name") == "button" and self.messages:
            self._button = [a.get("value", ""), ""]
        elif tag == "a" and a.get("class") == "file" and self.messages:
            self.messages[-1].file = a.get("href")

    def handle_endtag(self, tag: str) -> None:
        if self._in_text:
            self._in_text -= 1
        if tag == "button" and self._button is not None:
            self.messages[-1].buttons.append((self._button[1].strip(), self._button[0]))
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._in_text and self.messages:
            self.messages[-1].text += data
        if self._button is not None:
            self._button[1] += data


def read_page(status: int, html: str, headers: Any) -> Page:
    reader = _Reader()
    reader.feed(html)
    return Page(status, html, reader.messages, reader.fields, reader.action, dict(headers))


class Visitor:
    """One person's browser (cookies kept), JavaScript off."""

    def __init__(self, base_url: str, *, language: str = "fr-FR,fr;q=0.9") -> None:
        self.base_url = base_url
        headers = {"Accept-Language": language}
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers)
        self.page: Page | None = None

    async def close(self) -> None:
        await self.session.close()

    async def get(self, path: str) -> Page:
        async with self.session.get(self.base_url + path) as response:
            self.page = read_page(response.status, await response.text(), response.headers)
        return self.page

    async def post(self, path: str, data: dict[str, str], *, json: bool = False) -> Page:
        headers = {"Accept": "application/json"} if json else {}
        async with self.session.post(self.base_url + path, data=data, headers=headers) as response:
            body = await response.text()
            self.page = read_page(response.status, body, response.headers)
        return self.page

    def _form(self) -> dict[str, str]:
        assert self.page is not None and self.page.fields, "no form on the page"
        return dict(self.page.fields)

    async def say(self, text: str) -> Page:
        assert self.page is not None
        return await self.post(self.page.action, {**self._form(), "text": text})

    async def tap(self, label: str) -> Page:
        """Click the button with this label under the newest message that has one."""
        assert self.page is not None
        for message in reversed(self.page.messages):
            for shown, data in message.buttons:
                if shown == label:
                    form = {**self._form(), "button": data, "message": str(message.id)}
                    return await self.post(self.page.action, form)
        raise AssertionError(f"no button {label!r} on the page: {[m.buttons for m in self.page.messages]}")

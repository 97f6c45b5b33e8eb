"""The web chat's fixtures: the whole bot with `PAROLE_PUBLIC_URL` set, its pages on the webhook's port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import Settings
from tests.bot.channels.web.visitor import Visitor
from tests.conftest import with_settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    assert settings.webhook_url is not None
    base = settings.webhook_url.rsplit("/", 2)[0]  # http://127.0.0.1:PORT
    return with_settings(settings, public_url=base, kiosk_gap=1.0, kiosk_idle=30.0)


@pytest.fixture
def web_url(settings: Settings) -> str:
    assert settings.public_url is not None
    return settings.public_url


@pytest.fixture
async def visitors(web_url: str) -> AsyncIterator[Callable[..., Visitor]]:
    """Make browsers (JavaScript off); all closed at the end."""
    made: list[Visitor] = []

    def make(language: str = "fr-FR,fr;q=0.9") -> Visitor:
        made.append(Visitor(web_url, language=language))
        return made[-1]

    yield make
    for visitor in made:
        await visitor.close()

"""Fixtures of the WhatsApp tests: the Cloud API emulator, and the whole bot with WhatsApp on, subscribed to it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from bot.botapi.outbound import Limits
from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Secret, Settings, WhatsAppSettings
from emulator import EmulatedUser
from tests.support import Clock
from whatsapp_emulator import CloudApiEmulator, WhatsAppUser

VERIFY_TOKEN = "verify-me-0123"
TEMPLATE = "parole_reply"


@pytest.fixture
async def cloud(clock: Clock) -> AsyncIterator[CloudApiEmulator]:
    async with CloudApiEmulator(clock=clock, templates={TEMPLATE: {"fr": 1, "en": 1}}) as emu:
        yield emu


def whatsapp_settings(cloud: CloudApiEmulator, *, template: str | None = None) -> WhatsAppSettings:
    return WhatsAppSettings(
        token=Secret(cloud.token),
        phone_number_id=cloud.phone_number_id,
        app_secret=Secret(cloud.app_secret),
        verify_token=Secret(VERIFY_TOKEN),
        number=cloud.number,
        api_url=cloud.base_url,
        reply_template=template,
    )


async def start_bot(settings: Settings, cloud: CloudApiEmulator, clock: Clock) -> AsyncIterator[RunningBot]:
    assert settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    async with running_bot(settings, listen=Listen("127.0.0.1", port), clock=clock, analysis_wait=0.0) as running:
        assert running.whatsapp is not None
        running.whatsapp.api.pauses = (0.01, 0.01, 0.01)  # the retries, without the wait
        # A test customer types faster than Meta's pair rate lets the bot answer (test_pacing.py tests it).
        if running.whatsapp.api.outbound is not None:
            running.whatsapp.api.outbound.limits = Limits(per_second=1000, chat_per_second=1000, chat_burst=1000)
        await cloud.subscribe(f"http://127.0.0.1:{port}/whatsapp", VERIFY_TOKEN)
        yield running


@pytest.fixture
async def wa_bot(
    settings: Settings, cloud: CloudApiEmulator, clock: Clock, operator: EmulatedUser
) -> AsyncIterator[RunningBot]:
    """The whole bot (Telegram staff side included) with WhatsApp on, and no reply template."""
    changed = dataclasses.replace(settings, whatsapp=whatsapp_settings(cloud), admin_ids=frozenset({operator.id}))
    async for running in start_bot(changed, cloud, clock):
        yield running


@pytest.fixture
async def wa_bot_with_template(
    settings: Settings, cloud: CloudApiEmulator, clock: Clock, operator: EmulatedUser
) -> AsyncIterator[RunningBot]:
    """The same, with the approved template `parole_reply` for messages outside the window."""
    config = whatsapp_settings(cloud, template=TEMPLATE)
    changed = dataclasses.replace(settings, whatsapp=config, admin_ids=frozenset({operator.id}))
    async for running in start_bot(changed, cloud, clock):
        yield running


@pytest.fixture
def camille(cloud: CloudApiEmulator) -> WhatsAppUser:
    return cloud.add_user("Camille", wa_id="33612345678")

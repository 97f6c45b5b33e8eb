"""The Cloud API emulator's media, as strict as Meta's: a media id looked up with the token gives a URL that
downloads the bytes with the token only, for 5 minutes; an unknown id gets the Graph API's error; a message of
each kind carries only the types and sizes Meta's do."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support import Clock
from whatsapp_emulator import CloudApiEmulator
from whatsapp_emulator.media import MB, image, padded

DAY = 24 * 3600.0


@pytest.fixture
async def cloud(clock: Clock) -> AsyncIterator[CloudApiEmulator]:
    async with CloudApiEmulator(clock=clock) as emu:
        yield emu


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def lookup(
    http: aiohttp.ClientSession, cloud: CloudApiEmulator, media_id: str, *, token: str | None = "", **query: str
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {cloud.token if token == '' else token}"} if token is not None else {}
    async with http.get(f"{cloud.base_url}/{media_id}", headers=headers, params=query) as response:
        return response.status, await response.json()


async def download(
    http: aiohttp.ClientSession, cloud: CloudApiEmulator, url: str, *, token: str | None = ""
) -> tuple[int, bytes, str]:
    headers = {"Authorization": f"Bearer {cloud.token if token == '' else token}"} if token is not None else {}
    async with http.get(url, headers=headers) as response:
        return response.status, await response.read(), response.headers.get("Content-Type", "")


async def test_a_media_is_looked_up_then_downloaded_with_the_token(
    cloud: CloudApiEmulator, http: aiohttp.ClientSession
) -> None:
    content = image("PNG", (30, 20))
    media_id = cloud.store_media(content, "image/png")
    status, found = await lookup(http, cloud, media_id, phone_number_id=cloud.phone_number_id)
    assert status == 200
    assert found.keys() == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert (found["messaging_product"], found["id"], found["mime_type"]) == ("whatsapp", media_id, "image/png")
    assert (found["file_size"], found["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
    assert "/whatsapp_business/attachments/?mid=" in found["url"] and "&ext=" in found["url"]
    assert await download(http, cloud, found["url"]) == (200, content, "image/png")
    assert [call.status for call in cloud.calls] == [200, 200]


async def test_without_the_token_nothing_is_given(cloud: CloudApiEmulator, http: aiohttp.ClientSession) -> None:
    media_id = cloud.store_media(image(), "image/jpeg")
    status, error = await lookup(http, cloud, media_id, token=None)
    assert status == 401 and error["error"]["code"] == 190
    assert (await lookup(http, cloud, media_id, token="EAAwrong"))[0] == 401
    url = (await lookup(http, cloud, media_id))[1]["url"]
    status, body, _ = await download(http, cloud, url, token=None)
    assert status == 401 and json.loads(body)["error"]["code"] == 190
    assert (await download(http, cloud, url, token="EAAwrong"))[0] == 401
    assert (await download(http, cloud, url))[0] == 200


async def test_an_unknown_media_id_gets_the_graph_api_error(
    cloud: CloudApiEmulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    status, error = await lookup(http, cloud, "4242424242")
    assert status == 400
    assert error["error"]["code"] == 100 and error["error"]["error_subcode"] == 33
    assert error["error"]["type"] == "GraphMethodException"
    assert "Object with ID '4242424242' does not exist" in error["error"]["message"]
    assert error["error"]["fbtrace_id"]
    media_id = cloud.store_media(image(), "image/jpeg")
    status, error = await lookup(http, cloud, media_id, phone_number_id="999999")  # not this number's media
    assert status == 400 and error["error"]["code"] == 100
    clock.advance(7 * DAY + 1)  # Meta keeps a webhook's media id 7 days
    status, error = await lookup(http, cloud, media_id)
    assert status == 400 and error["error"]["error_subcode"] == 33


async def test_a_media_url_expires_after_5_minutes(
    cloud: CloudApiEmulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    media_id = cloud.store_media(image(), "image/jpeg")
    url = (await lookup(http, cloud, media_id))[1]["url"]
    clock.advance(299)
    assert (await download(http, cloud, url))[0] == 200
    clock.advance(2)
    status, body, _ = await download(http, cloud, url)
    assert status == 404 and "expired" in json.loads(body)["error"]["error_data"]["details"]
    fresh = (await lookup(http, cloud, media_id))[1]["url"]  # looked up again: a new URL
    assert (await download(http, cloud, fresh))[0] == 200
    tampered = fresh.replace("mid=", "mid=1")
    assert (await download(http, cloud, tampered))[0] == 404
    assert (await download(http, cloud, fresh.replace("ext=", "ext=9")))[0] == 404  # its expiry is signed


async def test_faults_on_demand(cloud: CloudApiEmulator, http: aiohttp.ClientSession) -> None:
    media_id = cloud.store_media(image(), "image/jpeg")
    cloud.fail_next(131016, call="media")
    assert (await lookup(http, cloud, media_id))[0] == 503
    url = (await lookup(http, cloud, media_id))[1]["url"]
    cloud.fail_next(131000, call="download")
    assert (await download(http, cloud, url))[0] == 500
    assert (await download(http, cloud, url))[0] == 200


def test_each_kind_carries_the_types_and_sizes_meta_allows(cloud: CloudApiEmulator) -> None:
    jpeg = image()
    cloud.store_media(padded(jpeg, 5 * MB), "image/jpeg")
    with pytest.raises(AssertionError, match="at most"):
        cloud.store_media(padded(jpeg, 5 * MB + 1), "image/jpeg")
    with pytest.raises(AssertionError, match="not 'application/pdf'"):
        cloud.store_media(b"%PDF-1.4", "application/pdf", kind="image")
    with pytest.raises(AssertionError, match="not 'image/gif'"):
        cloud.store_media(b"GIF89a", "image/gif")
    with pytest.raises(AssertionError, match="at most"):
        cloud.store_media(padded(image("WEBP"), 500 * 1024 + 1), "image/webp", kind="sticker")
    with pytest.raises(AssertionError, match="carries no media"):
        cloud.store_media(jpeg, "image/jpeg", kind="reaction")
    # A document is any file the customer picks (a photo sent as a file too), up to 100 MB.
    cloud.store_media(padded(image("PNG"), 6 * MB), "image/png", kind="document")
    cloud.store_media(b"%PDF-1.4", "application/pdf", kind="document")

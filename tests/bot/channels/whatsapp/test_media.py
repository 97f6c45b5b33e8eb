"""The Graph API client's media calls, against the Cloud API emulator: a lookup by media id, a download within a
byte limit with its SHA-256 checked, the token kept to Meta's hosts over HTTPS or the API's own host, Meta's
refusals by meaning."""

from __future__ import annotations

import dataclasses

from bot.channels.whatsapp.cloud_api import CloudApi, MediaInfo, Result, may_carry_token
from whatsapp_emulator import CloudApiEmulator
from whatsapp_emulator.media import MB, image


async def test_the_client_downloads_within_its_limit_with_the_hash_checked(cloud: CloudApiEmulator) -> None:
    """The Graph API client alone: a lookup, a download within a byte limit, the SHA-256 checked; the token
    never goes to another host over plain HTTP; an unknown id is gone; a refused token is the token's."""
    api = CloudApi(cloud.base_url, cloud.phone_number_id, cloud.token, pauses=(0.01,))
    try:
        content = image("JPEG", (200, 100))
        reply, info = await api.media(cloud.store_media(content, "image/jpeg"))
        assert reply.ok and info is not None and (info.mime_type, info.file_size) == ("image/jpeg", len(content))
        assert await api.download(info, limit=len(content)) == (reply, content)
        assert (await api.download(info, limit=len(content) - 1))[0].result is Result.TOO_LARGE
        calls = len(cloud.calls)
        elsewhere = dataclasses.replace(info, url=info.url.replace("127.0.0.1", "localhost"))
        assert (await api.download(elsewhere, limit=MB))[0].result is Result.REFUSED and len(cloud.calls) == calls
        forged = dataclasses.replace(info, sha256="0" * 64)
        assert (await api.download(forged, limit=MB))[0].result is Result.REFUSED
        assert (await api.media("4242424242"))[0].result is Result.GONE
    finally:
        await api.close()
    wrong = CloudApi(cloud.base_url, cloud.phone_number_id, "EAAwrong", pauses=(0.01,))
    try:
        assert (await wrong.media(cloud.store_media(image(), "image/jpeg")))[0].result is Result.TOKEN
        assert wrong.token_expired
    finally:
        await wrong.close()


def test_a_lookup_s_answer_is_read_strictly() -> None:
    url = "https://lookaside.fbsbx.com/x?mid=1"
    found = {"url": url, "mime_type": "image/jpeg", "sha256": "ab", "file_size": 9}
    assert MediaInfo.read(found) == MediaInfo(url, "image/jpeg", 9, "ab")
    assert MediaInfo.read({**found, "file_size": "303833"}) == MediaInfo(url, "image/jpeg", 303833, "ab")  # as text
    assert MediaInfo.read({**found, "file_size": True, "sha256": ""}) == MediaInfo(url, "image/jpeg", None, None)
    for bad in ({**found, "url": "ftp://x"}, {**found, "url": None}, {**found, "mime_type": 3}, [found], None):
        assert MediaInfo.read(bad) is None, bad


async def test_the_token_goes_to_no_host_but_meta_s_or_the_api_s(cloud: CloudApiEmulator) -> None:
    """A media URL elsewhere than Meta's hosts (or the API's own, the emulator's) gets no request, HTTPS or not: the
    token would go with it. A look-alike name or a user part before Meta's name is elsewhere too."""
    api = CloudApi(cloud.base_url, cloud.phone_number_id, cloud.token, pauses=(0.01,))
    try:
        reply, info = await api.media(cloud.store_media(image(), "image/jpeg"))
        assert reply.ok and info is not None
        for url in (
            "https://127.0.0.2:1/whatsapp_business/attachments/?mid=1",  # HTTPS, another host: it would connect
            "https://lookaside.fbsbx.com.attacker.example:1/x",
            "https://lookaside.fbsbx.com@127.0.0.2:1/x",
            "https://notfbsbx.com:1/x",
        ):
            elsewhere = dataclasses.replace(info, url=url)
            assert (await api.download(elsewhere, limit=MB))[0].result is Result.REFUSED, url
        for meta in ("https://lookaside.fbsbx.com/x?mid=1", "https://scontent.whatsapp.net/v/x", "https://FBSBX.com/"):
            assert may_carry_token(meta, cloud.base_url), meta
        assert not may_carry_token("http://lookaside.fbsbx.com/x", cloud.base_url)  # never in clear
        assert may_carry_token(f"{cloud.base_url}/whatsapp_business/attachments/?mid=1", cloud.base_url)
    finally:
        await api.close()

"""A WhatsApp customer's picture after the journey, through both emulators: fetched from the Cloud API (looked up
by its media id, downloaded with the token) off the webhook's answer, uploaded under the ticket's card in the
Telegram staff room with the caption a Telegram photo gets, kept in the thread; and every way it cannot go said
plainly to the customer (unknown media id, too large, not an image, an expired URL, the service down)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from redis.asyncio import Redis

from bot.cli.serve import RunningBot
from bot.staff.pictures import PictureJob, PictureJobs
from bot.storage import keys
from bot.storage.identity import CustomerId
from emulator import ApiCall, BotApiEmulator, UploadedFile
from tests.bot.channels.whatsapp.chat import Turn, WhatsAppCustomer
from tests.bot.channels.whatsapp.test_relay import feedback_on_whatsapp
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Clock
from whatsapp_emulator import ApiCall as GraphCall
from whatsapp_emulator import CloudApiEmulator, WhatsAppUser
from whatsapp_emulator.media import MB, image, padded

pytestmark = pytest.mark.asyncio
NOT_FETCHED = "Votre photo n'a pas pu être récupérée pour l'équipe de Quick Massy"


@pytest.fixture
async def scene(wa_bot: RunningBot, emulator: BotApiEmulator, clock: Clock) -> Scene:
    return await Scene.build(wa_bot, emulator, clock)


@pytest.fixture
async def customer(scene: Scene, cloud: CloudApiEmulator, camille: WhatsAppUser) -> WhatsAppCustomer:
    """Camille, after a whole feedback on WhatsApp: ticket 1001's card is in the room."""
    customer = WhatsAppCustomer(cloud, camille)
    await feedback_on_whatsapp(scene, customer)
    return customer


async def send(wa_bot: RunningBot, customer: WhatsAppCustomer, kind: str = "image", **media: str | bytes) -> Turn:
    """The customer sends a media; the turn once the bot has done with it in the background."""
    first = len(customer.cloud.sent)
    delivery = await customer.cloud.send_media(customer.user, kind, **media)  # type: ignore[arg-type]
    assert delivery.status == 200
    await wa_bot.staff.relay.pictures.idle()
    return Turn(delivery, [m for m in customer.cloud.sent[first:] if m.to == customer.user.wa_id])


async def thread(scene: Scene) -> list[str]:
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None
    return [message.text for message in await scene.bot.staff.tickets.thread("quick", ticket.feedback)]


def downloads(cloud: CloudApiEmulator) -> list[GraphCall]:
    return [call for call in cloud.calls if call.path.startswith("/whatsapp_business/attachments/")]


def uploaded(call: ApiCall) -> UploadedFile:
    upload = call.params["photo"]
    assert isinstance(upload, UploadedFile)
    return upload


async def test_an_image_goes_under_the_card_with_its_caption(
    scene: Scene, customer: WhatsAppCustomer, cloud: CloudApiEmulator, wa_bot: RunningBot, emulator: BotApiEmulator
) -> None:
    """The webhook answers at once; the image is looked up, downloaded with the token, and uploaded (multipart)
    under the card with the caption `staff_customer_photo`; the customer is told it was passed on; the thread keeps
    it as a photo; the staff answer it by replying to it, as to any message."""
    content = image("JPEG", (1600, 1200))
    mark = scene.mark()
    emulator.delay_next("sendPhoto", 1.0)
    delivery = await cloud.send_media(customer.user, "image", content=content, caption="La porte, cassée.")
    assert delivery.status == 200 and not scene.since(mark).to(scene.room.id, "sendPhoto")  # not waited for
    await wa_bot.staff.relay.pictures.idle()
    [photo] = scene.since(mark).to(scene.room.id, "sendPhoto")
    upload = uploaded(photo)
    assert upload.sha256 == hashlib.sha256(content).hexdigest() and upload.image == ("JPEG", 1600, 1200)
    assert upload.filename == "photo.jpg"
    assert photo.params["reply_parameters"]["message_id"] == scene.card(FIRST_TICKET).message_id
    in_room = scene.last_in_room()
    assert in_room.kind.value == "photo" and in_room.text.startswith("📷 Client #")
    assert "ticket n° 1001 (Quick Massy)" in in_room.text and "La porte, cassée." in in_room.text
    assert customer.user.wa_id not in in_room.text and "Camille" not in in_room.text
    assert "Transmis à l'équipe de Quick Massy" in cloud.messages_to(customer.user)[-1].text
    assert (await thread(scene))[-1] == "📷 La porte, cassée."
    [lookup] = [call for call in cloud.calls if call.path.rsplit("/", 1)[-1] in cloud.media]
    assert lookup.status == 200 and [call.status for call in downloads(cloud)] == [200]
    await scene.staff_says(scene.julien, "Merci, on la répare demain.", reply_to=scene.last_in_room())
    assert "on la répare demain" in cloud.messages_to(customer.user)[-1].text


async def test_without_a_caption_and_a_photo_sent_as_a_file(
    scene: Scene, customer: WhatsAppCustomer, wa_bot: RunningBot
) -> None:
    mark = scene.mark()
    plain = await send(wa_bot, customer)
    assert "Transmis à l'équipe de Quick Massy" in plain.text
    assert scene.last_in_room().kind.value == "photo" and scene.last_in_room().text.endswith("(Quick Massy)")
    png = image("PNG", (300, 200))
    as_file = await send(wa_bot, customer, "document", content=png, mime_type="image/png", filename="porte.png")
    assert "Transmis" in as_file.text
    [_, second] = scene.since(mark).to(scene.room.id, "sendPhoto")
    assert uploaded(second).sha256 == hashlib.sha256(png).hexdigest() and uploaded(second).filename == "photo.png"
    assert (await thread(scene))[-2:] == ["📷", "📷"]


async def test_an_unknown_media_id_is_said_plainly_and_the_caption_still_goes(
    scene: Scene, customer: WhatsAppCustomer, cloud: CloudApiEmulator, wa_bot: RunningBot
) -> None:
    before = await thread(scene)
    mark = scene.mark()
    lost = await send(wa_bot, customer, media_id="4242424242")  # Meta keeps none (or kept it 7 days)
    assert NOT_FETCHED in lost.text and "Transmis" not in lost.text
    assert scene.since(mark).texts(scene.room.id) == [] and not scene.since(mark).to(scene.room.id, "sendPhoto")
    assert await thread(scene) == before
    [lookup] = [call for call in cloud.calls if call.path.endswith("/4242424242")]
    assert lookup.status == 400 and lookup.response["error"]["error_subcode"] == 33 and not downloads(cloud)
    captioned = await send(wa_bot, customer, media_id="4242424243", caption="Regardez la porte.")
    assert "Transmis à l'équipe de Quick Massy" in captioned.text and NOT_FETCHED in captioned.text
    assert scene.last_in_room().kind.value == "text" and "Regardez la porte." in scene.last_in_room().text
    assert (await thread(scene))[-1] == "Regardez la porte."  # its words, not a photo


async def test_a_picture_over_5_mb_is_refused_without_being_downloaded(
    scene: Scene, customer: WhatsAppCustomer, cloud: CloudApiEmulator, wa_bot: RunningBot
) -> None:
    """A PNG of 6 MB, sent as a file (an image message holds 5 MB at most): Meta announces its size, so nothing is
    downloaded; its caption goes."""
    mark = scene.mark()
    big = padded(image("PNG"), 6 * MB)
    turn = await send(wa_bot, customer, "document", content=big, mime_type="image/png", caption="Le ticket de caisse")
    assert "elle dépasse 5 Mo" in turn.text and "Transmis à l'équipe de Quick Massy" in turn.text
    assert not scene.since(mark).to(scene.room.id, "sendPhoto") and not downloads(cloud)
    assert "Le ticket de caisse" in scene.last_in_room().text


async def test_a_file_that_is_not_a_picture_is_refused(
    scene: Scene, customer: WhatsAppCustomer, cloud: CloudApiEmulator, wa_bot: RunningBot
) -> None:
    """A PDF is refused by its type, before any download; a file that says it is a PNG but is not, once
    downloaded. Neither reaches the room."""
    mark = scene.mark()
    pdf = await send(wa_bot, customer, "document")
    refused = "Ce fichier n'a pas pu être transmis à l'équipe de Quick Massy : seules les photos (JPEG ou PNG)"
    assert refused in pdf.text and "Transmis" not in pdf.text and not downloads(cloud)
    disguised = await send(wa_bot, customer, "document", content=b"%PDF-1.4 et rien d'autre", mime_type="image/png")
    assert refused in disguised.text and [call.status for call in downloads(cloud)] == [200]
    assert scene.since(mark).texts(scene.room.id) == [] and not scene.since(mark).to(scene.room.id, "sendPhoto")


async def test_an_expired_url_or_a_service_down_is_said_plainly(
    scene: Scene, customer: WhatsAppCustomer, cloud: CloudApiEmulator, wa_bot: RunningBot
) -> None:
    cloud.url_seconds = -1  # every URL has expired when the bot downloads it
    expired = await send(wa_bot, customer)
    assert NOT_FETCHED in expired.text and [call.status for call in downloads(cloud)] == [404]
    cloud.url_seconds = 300
    cloud.fail_next(131016, call="media")  # unavailable a moment, then back: retried
    cloud.fail_next(131000, call="download")  # a server error on a download: retried too (a GET changes nothing)
    mark = scene.mark()
    back = await send(wa_bot, customer)
    assert "Transmis" in back.text and len(scene.since(mark).to(scene.room.id, "sendPhoto")) == 1
    cloud.fail_next(131000, call="media", times=4)  # down through every retry
    down = await send(wa_bot, customer)
    assert NOT_FETCHED in down.text


async def test_the_room_refusing_the_photo_is_said_as_a_refusal(
    scene: Scene, customer: WhatsAppCustomer, wa_bot: RunningBot, emulator: BotApiEmulator
) -> None:
    emulator.fail_next("sendPhoto", status=400, description="Bad Request: PHOTO_SAVE_FILE_INVALID")
    turn = await send(wa_bot, customer)
    assert "Transmis" not in turn.text and "n'a pas pu être transmis" in turn.text
    assert (await thread(scene))[-1] == "📷"  # kept all the same: in the export and /mydata


async def test_a_picture_a_stopped_process_left_is_done_by_another(
    scene: Scene, customer: WhatsAppCustomer, cloud: CloudApiEmulator, wa_bot: RunningBot, clock: Clock
) -> None:
    """A job stored by a process that stopped before doing it (no lease any more) is taken over; done once."""
    pictures = wa_bot.staff.relay.pictures
    media = cloud.store_media(image(), "image/jpeg")
    who = CustomerId.of("whatsapp", customer.user.wa_id)
    job = PictureJob("quick", FIRST_TICKET, who, "fr", media, "Vue de la salle", "Vue de la salle", False, clock())
    assert PictureJob.from_json(job.to_json()) == job
    await wa_bot.store.redis.hset(keys.PICTURES, job.member, job.to_json())
    await wa_bot.store.redis.hset(keys.PICTURES, "quick/1001/broken", "{not json")
    mark = scene.mark()
    assert await pictures.resume() == 1
    await pictures.idle()
    [photo] = scene.since(mark).to(scene.room.id, "sendPhoto")
    assert "Vue de la salle" in str(photo.params["caption"])
    assert await wa_bot.store.redis.hlen(keys.PICTURES) == 0  # done, and the unreadable one dropped
    assert await pictures.resume() == 0


async def test_a_job_whose_lease_ran_out_while_it_waited_is_left_to_its_new_holder(
    redis_client: Redis, clock: Clock
) -> None:
    """A job waits for one of the process's slots; if its lease ran out meanwhile and another process took the
    job, this one does not do it too, and gives back no lease it does not hold."""
    done: list[str] = []
    first_started, release_first = asyncio.Event(), asyncio.Event()

    async def work(job: PictureJob) -> None:
        done.append(job.media)
        if job.media == "first":
            first_started.set()
            await release_first.wait()

    jobs = PictureJobs(redis_client, work, at_once=1, name="this-process")
    who = CustomerId.of("whatsapp", "33612345678")
    first, second, third = (
        PictureJob("quick", 1001, who, "fr", media, "", "", False, clock()) for media in ("first", "second", "third")
    )
    await jobs.add(first)
    await first_started.wait()
    await jobs.add(second)  # waits for the slot
    await jobs.add(third)
    await redis_client.set(keys.picture_lease(second.member), "other-process")  # its lease ran out; taken over
    await redis_client.hdel(keys.PICTURES, third.member)  # done by another process meanwhile
    await redis_client.delete(keys.picture_lease(third.member))
    release_first.set()
    await jobs.idle()
    assert done == ["first"]
    assert await redis_client.get(keys.picture_lease(second.member)) == "other-process"  # left to its holder
    assert await redis_client.hexists(keys.PICTURES, second.member)  # for the other process to finish
    assert not await redis_client.hexists(keys.PICTURES, first.member)
    assert not await redis_client.exists(keys.picture_lease(first.member))


async def test_a_stopping_process_gives_back_only_the_leases_it_holds(redis_client: Redis, clock: Clock) -> None:
    started = asyncio.Event()

    async def work(job: PictureJob) -> None:
        started.set()
        await asyncio.Event().wait()  # stopped before it ends

    jobs = PictureJobs(redis_client, work, at_once=1, name="this-process")
    job = PictureJob("quick", 1001, CustomerId.of("whatsapp", "33612345678"), "fr", "m1", "", "", False, clock())
    await jobs.add(job)
    await started.wait()
    await redis_client.set(keys.picture_lease(job.member), "other-process")  # ran out and taken over meanwhile
    await jobs.stop()
    assert await redis_client.get(keys.picture_lease(job.member)) == "other-process"
    assert await redis_client.hexists(keys.PICTURES, job.member)

"""Reading a customer's update from the Bot API's JSON (`bot.channels.telegram.updates`): the `Inbound` the
conversation core needs, the same as from python-telegram-bot's `Update`, and None for everything the
webhook leaves to `Update`."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot, Update

from bot.channels.telegram.updates import customer_update, read_json, read_update
from bot.seam.inbound import Inbound
from bot.storage.identity import CustomerId

PERSON = {"id": 42, "is_bot": False, "first_name": "Awa", "language_code": "fr"}
PRIVATE = {"id": 42, "type": "private", "first_name": "Awa"}
GROUP = {"id": -100, "type": "supergroup", "title": "Quick staff"}
AWA = CustomerId.telegram(42)


def message(**fields: Any) -> dict[str, Any]:
    return {"update_id": 7, "message": {"message_id": 3, "date": 1700000000, "chat": PRIVATE, "from": PERSON, **fields}}


def button(data: str, *, date: int = 1700000000, chat: dict[str, Any] = PRIVATE) -> dict[str, Any]:
    clicked = {"message_id": 9, "date": date, "chat": chat}
    return {
        "update_id": 8,
        "callback_query": {"id": "cb1", "chat_instance": "1", "from": PERSON, "data": data, "message": clicked},
    }


SHAPES = {
    "text": message(text="Le serveur Julien était très aimable"),
    "empty text": message(text=""),
    "command": message(text="/start AbC_12-x", entities=[{"type": "bot_command", "offset": 0, "length": 6}]),
    "location": message(location={"latitude": 48.73, "longitude": 2.27}),
    "venue": message(
        venue={"location": {"latitude": 48.7, "longitude": 2.2}, "title": "Quick", "address": "Massy"},
        location={"latitude": 48.7, "longitude": 2.2},
    ),
    "sticker": message(
        sticker={
            "file_id": "s",
            "file_unique_id": "u",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    ),
    "photo": message(photo=[{"file_id": "p", "file_unique_id": "u", "width": 90, "height": 90}]),
    "button": button("rate:4"),
    "button under an old message": button("rate:4", date=0),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_the_json_reading_matches_python_telegram_bots(name: str) -> None:
    data = SHAPES[name]
    inbound = read_json(data)
    assert inbound is not None
    assert inbound == read_update(Update.de_json(data, Bot("1:x")))


def test_what_the_customer_chat_reads_of_each_shape() -> None:
    text = read_json(SHAPES["text"])
    assert text == Inbound(7, AWA, "fr", message_id=3, text="Le serveur Julien était très aimable")
    assert read_json(SHAPES["location"]) == Inbound(7, AWA, "fr", message_id=3, kind="location", location=(48.73, 2.27))
    venue = read_json(SHAPES["venue"])
    assert venue is not None and (venue.kind, venue.location) == ("venue", (48.7, 2.2))
    sticker = read_json(SHAPES["sticker"])
    assert sticker is not None and (sticker.text, sticker.kind) == (None, "sticker")
    clicked = read_json(SHAPES["button"])
    assert clicked == Inbound(8, AWA, "fr", button_data="rate:4", button_id="cb1", clicked_message_id=9)
    old = read_json(SHAPES["button under an old message"])
    assert old is not None and old.clicked_message_id is None


def test_a_captioned_photo_is_read_as_its_caption() -> None:
    """A photo with "les frites étaient froides" under it answers with those words, not "send text"."""
    photo = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 960},
    ]
    captioned = read_json(message(photo=photo, caption="Les frites étaient froides"))
    assert captioned == Inbound(7, AWA, "fr", message_id=3, text="Les frites étaient froides", photo="large")
    bare = read_json(message(photo=photo, caption="  "))
    assert bare is not None and (bare.text, bare.kind, bare.photo) == (None, "photo", "large")  # its largest size
    odd = read_json(message(photo=[{"file_id": 7}], caption="Bonjour"))
    assert odd is not None and (odd.text, odd.photo) == ("Bonjour", None)  # no file_id to pass on: the text only


@pytest.mark.parametrize(
    "data",
    [
        {"update_id": 1},
        {"update_id": "1", "message": SHAPES["text"]["message"]},
        {"update_id": True, "message": SHAPES["text"]["message"]},
        {"update_id": 1, "edited_message": SHAPES["text"]["message"]},
        message(text="hello", chat=GROUP),
        message(text="hello", chat={"id": "42", "type": "private"}),
        message(text="hello", chat={"id": 42.0, "type": "private"}),
        message(text="hello", **{"from": {**PERSON, "is_bot": True}}),
        message(text="hello", **{"from": {**PERSON, "id": {}}}),
        message(text="hello", **{"from": {**PERSON, "language_code": 5}}),
        message(text=["not", "a", "string"]),
        message(text="hello", message_id="3"),
        message(location={"latitude": "north", "longitude": 2.2}),
        {"update_id": 1, "message": "not an object"},
        {"update_id": 1, "message": {"message_id": 3, "date": 0, "text": "no chat", "from": PERSON}},
        button("rate:4", chat=GROUP),
        {"update_id": 1, "callback_query": {"id": "cb", "from": PERSON, "data": "rate:4"}},  # no message
        {"update_id": 1, "callback_query": {**button("x")["callback_query"], "id": 5}},
        {"update_id": 1, "callback_query": {**button("x")["callback_query"], "data": {"a": 1}}},
    ],
)
def test_anything_else_is_left_to_python_telegram_bot(data: dict[str, Any]) -> None:
    assert read_json(data) is None
    assert customer_update(data) is None


@pytest.mark.parametrize(
    "data", [message(text="/templates quick"), message(text="/Flow@parole_bot show"), button("preview")]
)
def test_an_operators_command_or_button_goes_to_the_admin_chat_first(data: dict[str, Any]) -> None:
    assert read_json(data) is not None  # read the same way if the admin chat passes it on
    assert customer_update(data) is None


@pytest.mark.parametrize(
    "where",
    [{"latitude": 200.0, "longitude": 2.2}, {"latitude": 48.7, "longitude": -181}, {"latitude": 89.9, "longitude": 0}],
)
def test_a_location_off_the_map_is_read_as_a_location_without_coordinates(where: dict[str, float]) -> None:
    inbound = read_json(message(location=where))
    assert inbound is not None and (inbound.kind, inbound.location) == ("location", None)

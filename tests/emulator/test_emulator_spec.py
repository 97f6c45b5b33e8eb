"""Every call is checked against botapi.json: methods, required and unknown parameters, types."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from emulator import BotApiEmulator, BotApiError, BotApiSpec, SpecMismatch

ApiCaller = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]
KEYBOARD = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}


@pytest.fixture(scope="module")
def spec() -> BotApiSpec:
    return BotApiSpec.load()


def test_every_type_a_method_names_is_known(spec: BotApiSpec) -> None:
    scalars = {"Integer", "Float", "Boolean", "String", "InputFile"}
    for method in spec.methods.values():
        for field in method.fields.values():
            for type_name in field.types:
                base = type_name.removeprefix("Array of ").removeprefix("Array of ")
                assert base in scalars or base in spec.types, f"{method.name}.{field.name}: {type_name}"


def test_form_strings_are_decoded_to_the_declared_types(spec: BotApiSpec) -> None:
    params = spec.validate_call(
        spec.methods["sendMessage"],
        {
            "chat_id": "42",
            "text": "123",
            "disable_notification": "true",
            "reply_markup": json.dumps(KEYBOARD),
            "entities": "[]",
        },
    )
    assert params == {
        "chat_id": 42,
        "text": "123",
        "disable_notification": True,
        "reply_markup": KEYBOARD,
        "entities": [],
    }
    assert spec.validate_call(spec.methods["sendMessage"], {"chat_id": "@venue", "text": "x"})["chat_id"] == "@venue"


def test_json_values_are_kept_and_nulls_are_absent(spec: BotApiSpec) -> None:
    params = spec.validate_call(
        spec.methods["sendLocation"], {"chat_id": 1, "latitude": 48, "longitude": 2.5, "heading": None}
    )
    assert params == {"chat_id": 1, "latitude": 48, "longitude": 2.5}


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"chat_id": 1}, 'parameter "text" is required by method sendMessage'),
        ({"chat_id": 1, "text": "x", "colour": "red"}, 'unknown parameter "colour" for method sendMessage'),
        ({"chat_id": 1.5, "text": "x"}, 'parameter "chat_id" must be Integer or String'),
        (
            {"chat_id": 1, "text": "x", "disable_notification": "yes"},
            'parameter "disable_notification" must be',
        ),
        ({"chat_id": 1, "text": "x", "reply_markup": "{not json"}, 'parameter "reply_markup" must be'),
        (
            {
                "chat_id": 1,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": 5}]]},
            },
            'parameter "reply_markup.inline_keyboard[0][0].callback_data" must be String',
        ),
        (
            {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"callback_data": "a"}]]}},
            'parameter "reply_markup.inline_keyboard[0][0]" lacks the field "text"',
        ),
        (
            {"chat_id": 1, "text": "x", "reply_parameters": {"message_id": 1, "colour": 1}},
            'parameter "reply_parameters" has an unknown field "colour"',
        ),
    ],
)
def test_invalid_calls_are_refused_naming_the_parameter(
    spec: BotApiSpec, params: dict[str, object], problem: str
) -> None:
    with pytest.raises(BotApiError) as refused:
        spec.validate_call(spec.methods["sendMessage"], params)
    assert refused.value.status == 400
    assert refused.value.description.startswith("Bad Request: ")
    assert problem in refused.value.description


def test_union_members_are_told_apart_by_their_constant_field(spec: BotApiSpec) -> None:
    method = spec.methods["setMyCommands"]
    commands = [{"command": "start", "description": "Start"}]
    scope = {"type": "chat", "chat_id": 5}
    assert spec.validate_call(method, {"commands": commands, "scope": scope})["scope"] == scope
    with pytest.raises(BotApiError):
        spec.validate_call(method, {"commands": commands, "scope": {"type": "everywhere"}})
    spec.check_value("ChatMember", {"status": "left", "user": {"id": 1, "is_bot": False, "first_name": "A"}})
    with pytest.raises(SpecMismatch):
        spec.check_value("ChatMember", {"status": "gone", "user": {"id": 1, "is_bot": False, "first_name": "A"}})


async def test_a_wrong_token_is_unauthorized(emulator: BotApiEmulator, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{emulator.base_url}123456:WRONG/getMe") as response:
        assert response.status == 401
        assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_an_unknown_method_is_not_found(emulator: BotApiEmulator, api: ApiCaller) -> None:
    status, body = await api("sendTelepathy", chat_id=1)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert emulator.calls_to("sendTelepathy")[0].status == 404


async def test_method_names_ignore_case(emulator: BotApiEmulator, api: ApiCaller) -> None:
    status, body = await api("GETME")
    assert status == 200 and body["result"]["username"] == "parole_test_bot"
    assert [call.method for call in emulator.calls] == ["getMe"]


async def test_an_invalid_call_answers_400_with_its_reason(api: ApiCaller) -> None:
    status, body = await api("sendMessage", chat_id=1, txt="hello")
    assert status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": 'Bad Request: unknown parameter "txt" for method sendMessage',
    }


async def test_a_method_the_emulator_lacks_answers_400(api: ApiCaller) -> None:
    status, body = await api("sendDice", chat_id=1)
    assert status == 400
    assert "method not supported by the emulator" in body["description"]
    status, body = await api("sendDice")
    assert "chat_id" in body["description"], "the call is validated first"


async def test_parameters_arrive_as_json_form_multipart_or_query(
    emulator: BotApiEmulator, http: aiohttp.ClientSession
) -> None:
    user = emulator.add_user("Camille")
    await emulator.send_text(user, "/start")
    url = f"{emulator.base_url}{emulator.token}/sendMessage"
    markup = json.dumps(KEYBOARD)
    async with http.post(url, json={"chat_id": user.id, "text": "json", "reply_markup": KEYBOARD}) as r:
        assert r.status == 200
    async with http.post(url, data={"chat_id": str(user.id), "text": "form", "reply_markup": markup}) as r:
        assert r.status == 200
    async with http.post(url, json={"chat_id": str(user.id), "text": "json of strings", "reply_markup": markup}) as r:
        assert r.status == 200
    form = aiohttp.FormData()
    form.add_field("chat_id", str(user.id))
    form.add_field("text", "multipart")
    form.add_field("reply_markup", markup)
    form.add_field("document", b"unused", filename="x.txt")  # forces multipart/form-data
    async with http.post(url, data=form) as r:
        assert r.status == 400, "a file part is one more (unknown) parameter of sendMessage"
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("chat_id", str(user.id))
    form.add_field("text", "multipart")
    form.add_field("reply_markup", markup, content_type="application/json")
    async with http.post(url, data=form) as r:
        assert r.status == 200
    async with http.get(url, params={"chat_id": str(user.id), "text": "query"}) as r:
        assert r.status == 200
    texts = [m.text for m in emulator.bot_messages(user.id)]
    assert texts == ["json", "form", "json of strings", "multipart", "query"]
    assert all(m.reply_markup == KEYBOARD for m in emulator.bot_messages(user.id)[:4])


async def test_a_body_that_is_not_json_is_refused(emulator: BotApiEmulator, http: aiohttp.ClientSession) -> None:
    url = f"{emulator.base_url}{emulator.token}/getMe"
    async with http.post(url, data=b"{oops", headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400
        assert (await r.json())["description"] == "Bad Request: can't parse JSON object"

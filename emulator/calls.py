"""The Bot API endpoint: each call decoded, checked against the spec, answered (or failed on demand) and
recorded."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from emulator.errors import BotApiError, bad_request
from emulator.faults import FaultPlan
from emulator.media import image_header
from emulator.methods import HANDLERS, Described, MethodContext
from emulator.records import ApiCall, UploadedFile
from emulator.spec import BotApiSpec

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_params(request: web.Request) -> dict[str, object]:
    """A call's parameters from its query string and its JSON, url-encoded or multipart body."""
    params: dict[str, object] = {key: request.query[key] for key in request.query}
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("the JSON body must be an object")
        params.update(body)
    elif request.content_type in _FORMS:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                digest = hashlib.sha256(content).hexdigest()
                params[key] = UploadedFile(
                    value.filename, value.content_type, len(content), digest, image_header(content)
                )
            elif isinstance(value, bytes | bytearray):
                params[key] = bytes(value).decode("utf-8", "replace")
            else:
                params[key] = value
    elif (await request.read()).strip():
        raise bad_request(f"unsupported Content-Type {request.content_type}")
    return params


def _ok(result: object) -> JsonDict:
    if isinstance(result, Described):
        return {"ok": True, "result": result.result, "description": result.description}
    return {"ok": True, "result": result}


class ApiEndpoint:
    """Answers `/bot<token>/<method>` and keeps every call, in the order they were answered."""

    def __init__(self, *, token: str, spec: BotApiSpec, context: MethodContext, faults: FaultPlan) -> None:
        self.token = token
        self.spec = spec
        self.context = context
        self.faults = faults
        self.calls: list[ApiCall] = []
        self.in_flight = 0  # calls being answered, getUpdates excepted (it waits by design)
        self.last_activity = time.monotonic()

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler of `/bot{token}/{method}`."""
        name = request.match_info["method"]
        try:
            if request.match_info["token"] != self.token:
                raise BotApiError(401)
            raw = await read_params(request)
        except BotApiError as error:
            call = self._record(name, {}, error.status, error.envelope(), time.monotonic())
        else:
            call = await self.execute(name, raw)
        return web.json_response(call.response, status=call.status, dumps=_dumps)

    async def execute(self, name: str, raw: Mapping[str, object]) -> ApiCall:
        """Answer one call (from HTTP, or from a webhook response body) and record it."""
        at = time.monotonic()
        method = self.spec.method(name)
        polling = method is not None and method.name == "getUpdates"
        if not polling:
            self.in_flight += 1
            self.touch()
        params: dict[str, Any] = dict(raw)
        try:
            if method is None:
                raise BotApiError(404)
            params = self.spec.validate_call(method, raw)
            status, response = 200, _ok(await self._answer(method.name, params))
        except BotApiError as error:
            status, response = error.status, error.envelope()
        except Exception as error:  # an emulator bug must reach the test, not hang it
            log.exception("emulator failed on %s", name)
            status, response = (
                500,
                BotApiError(500, f"Internal Server Error: emulator bug: {error!r}").envelope(),
            )
        finally:
            if not polling:
                self.in_flight -= 1
        if not polling or response.get("result"):
            self.touch()
        return self._record(method.name if method else name, params, status, response, at)

    async def _answer(self, method: str, params: dict[str, Any]) -> object:
        delay = self.faults.take_delay(method)
        if delay:
            await asyncio.sleep(delay)
        failure = self.faults.take_failure(method)
        if failure is not None and not failure[1]:
            raise failure[0]
        handler = HANDLERS.get(method)
        if handler is None:
            raise bad_request(f"method not supported by the emulator ({method})")
        result = await handler(self.context, params)
        if failure is not None:  # executed, then the answer lost on its way back (a gateway's 502)
            raise failure[0]
        return result

    def _record(self, method: str, params: JsonDict, status: int, response: JsonDict, at: float) -> ApiCall:
        call = ApiCall(method, params, status, response, at)
        self.calls.append(call)
        return call


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=_jsonable)


def _jsonable(value: object) -> object:
    if isinstance(value, UploadedFile):
        return {
            "filename": value.filename,
            "content_type": value.content_type,
            "size": value.size,
            "sha256": value.sha256,
        }
    raise TypeError(f"{type(value).__name__} is not JSON serializable")

"""python-telegram-bot's HTTP layer on aiohttp: cheaper per request than the default httpx client.

Every Bot API call of a process goes through it, so it is also where Telegram's outbound limits are kept
(`bot.botapi.outbound`) and where a failure that Telegram certainly did not execute is told apart
(`NotExecuted`).
"""

from __future__ import annotations

import json

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.botapi.outbound import Outbound

# 500 and 503 come from Telegram's front servers when the call did not reach, or was refused by, the
# server that executes it. A 502 (a gateway got no valid answer from upstream: it may have lost the answer
# of a call that ran), 504 (the front gave up waiting) and a read timeout may hide a call that ran.
NOT_EXECUTED_STATUSES = frozenset({500, 503})


class NotExecuted(NetworkError):
    """The call failed before Telegram executed it (no connection, or 500/503): safe to make again."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AiohttpRequest(BaseRequest):
    """A `telegram.request.BaseRequest` that sends Bot API calls through one aiohttp session."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 64,
        read_timeout: float | None = 10.0,
        write_timeout: float | None = 10.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 5.0,
        outbound: Outbound | None = None,
    ) -> None:
        """`outbound`: the limits to keep (None: none, for a process that sends nothing or in tests)."""
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._outbound = outbound

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        write = self._write_timeout if isinstance(write_timeout, DefaultValue) else write_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        # aiohttp has no separate write timeout: the read timeout covers the exchange after connecting.
        sock_read = None if read is None else read + (write or 0)
        timeout = aiohttp.ClientTimeout(total=None, connect=pool, sock_connect=connect, sock_read=sock_read)
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] = {}
        parameters = request_data.json_parameters if request_data is not None else {}
        if self._outbound is not None:
            await self._outbound.acquire(url.rpartition("/")[2], parameters.get("chat_id"))
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in parameters.items():
                    form.add_field(name, value)
                for part_name, part in files.items():
                    filename, content, mime = part if len(part) == 3 else (part[0], part[1], None)
                    form.add_field(part_name, content, filename=filename, content_type=mime)
                data = form
            else:
                data = json.dumps(parameters).encode()  # `request_data.json_payload`, parameters encoded once
                headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(method, url, data=data, headers=headers, timeout=timeout) as resp:
                status, payload = resp.status, await resp.read()
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            raise NotExecuted(f"Bot API not reached: {exc!r}") from exc
        except TimeoutError as exc:
            raise TimedOut(f"Bot API request timed out: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp: {exc!r}") from exc
        if status in NOT_EXECUTED_STATUSES:
            raise NotExecuted(f"Bot API answered {status}: {_description(payload)}", status)
        if status == 429 and self._outbound is not None:
            retry_after = _retry_after(payload)
            if retry_after:
                await self._outbound.block(retry_after)
        return status, payload


def _description(payload: bytes) -> str:
    try:
        answer = json.loads(payload)
    except ValueError:
        return payload[:200].decode(errors="replace")
    return str(answer.get("description", "")) if isinstance(answer, dict) else ""


def _retry_after(payload: bytes) -> float:
    """The seconds a 429 asks to wait (0 when it does not say)."""
    try:
        answer = json.loads(payload)
        value = answer["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return 0.0
    return float(value) if isinstance(value, int | float) and value > 0 else 0.0

"""Telegram's Bot API as every process uses it: the HTTP layer, the outbound limits shared in Redis, one call with
its refusals turned into an outcome. The staff rooms and the Telegram channel both speak through it."""

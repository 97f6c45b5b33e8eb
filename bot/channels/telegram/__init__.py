"""The Telegram channel: the webhook, the update reader, the HTTP layer, Telegram's outbound limits, one Bot API call
with its refusals."""

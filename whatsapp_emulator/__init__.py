"""A WhatsApp Cloud API emulator for the tests and the demo: an aiohttp server on 127.0.0.1 that checks every
send as the Graph API does (shapes, limits, the 24-hour window, templates, phone number id, token), records
what it accepted, answers with the API's errors on demand, delivers signed webhooks to the bot, and keeps the
media users send for the bot to look up and download as Meta's (`whatsapp_emulator.media`).

A test double: no runtime module imports it (the demo, which plays on it, aside).
"""

from whatsapp_emulator.checks import CloudApiError
from whatsapp_emulator.media import StoredMedia
from whatsapp_emulator.server import ApiCall, CloudApiEmulator, Delivery, SentMessage, WhatsAppUser

__all__ = ["ApiCall", "CloudApiEmulator", "CloudApiError", "Delivery", "SentMessage", "StoredMedia", "WhatsAppUser"]

"""A WhatsApp Cloud API emulator for the tests and the demo: an aiohttp server on 127.0.0.1 that checks every
send as the Graph API does (shapes, limits, the 24-hour window, templates, phone number id, token), records
what it accepted, answers with the API's errors on demand, and delivers signed webhooks to the bot.

A test double: no runtime module imports it (the demo, which plays on it, aside).
"""

from whatsapp_emulator.checks import CloudApiError
from whatsapp_emulator.server import CloudApiEmulator, Delivery, SentMessage, WhatsAppUser

__all__ = ["CloudApiEmulator", "CloudApiError", "Delivery", "SentMessage", "WhatsAppUser"]

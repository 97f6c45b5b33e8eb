"""The channel seam: what the conversation core, the customers' side and the staff side know of a channel.

Value types and protocols only. A channel (`bot.channels.<name>`) reads its own updates into an `Inbound`
and implements `CustomerChannel`; nothing below the channels imports one of them.
"""

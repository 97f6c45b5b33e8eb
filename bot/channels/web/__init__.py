"""The web channel: the conversation in any phone's browser (and kiosk mode on a tablet at the counter),
served by `parole serve` from the same QR code as Telegram, when `PAROLE_PUBLIC_URL` is set."""

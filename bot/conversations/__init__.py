"""The customer's turn: lock and load, one engine step, save, the outbox, duplicate delivery, version pinning, news
opt-in, nearby venues."""

"""The staff side: rooms, tickets, cards, the relay, the notifier, who may act, pseudonyms; the staff room and the
operators' chat on Telegram."""

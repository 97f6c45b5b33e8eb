"""The WhatsApp channel, through Meta's Cloud API: the webhook (`webhook.py`), the payload reader
(`updates.py`), the customers' words for commands (`keywords.py`), the customer adapter (`customer.py`),
the formatting and limits of what it sends (`formatting.py`, `limits.py`), the Graph API client
(`cloud_api.py`), the 24-hour window (`window.py`) and the venues' `wa.me` links (`links.py`)."""

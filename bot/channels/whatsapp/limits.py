"""What the Cloud API accepts in a message, checked before anything is sent (Meta's documented limits)."""

from __future__ import annotations

from typing import Final

TEXT_BODY: Final = 4096
INTERACTIVE_BODY: Final = 1024
BUTTON_TITLE: Final = 20
BUTTON_ID: Final = 256
REPLY_BUTTONS: Final = 3
LIST_BUTTON: Final = 20
LIST_ROWS: Final = 10
ROW_TITLE: Final = 24
ROW_ID: Final = 200
ROW_DESCRIPTION: Final = 72
TEMPLATE_PARAMETER: Final = 1024
WINDOW: Final = 24 * 3600.0  # the customer service window: free-form messages only within it

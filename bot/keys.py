"""Every Redis key parole uses, in one place.

A brand's keys carry the brand code as a hash tag (`parole:{quick}:…`) so that Redis Cluster keeps
them in one slot; keys looked up before the brand is known (a deep-link token, a short code, a chat)
are global.

| key | type | holds |
| --- | --- | --- |
| `parole:brands` | set | brand codes |
| `parole:{B}:brand` | hash | the brand: code, name, created_at |
| `parole:{B}:venues` | sorted set | venue codes by creation time |
| `parole:{B}:venue:V` | hash | the venue: code, brand, name, city, lat, lon, token, short_code, created_at |
| `parole:token:T` | string | JSON of the venue reference a deep-link token opens |
| `parole:short:C` | string | JSON of the venue reference a short code opens |
| `parole:chat:ID` | string | JSON of the customer's conversation (`dialogs.Conversation`) |
| `parole:{B}:feedback:F` | hash | one feedback (see `bot.store.FEEDBACK_FIELDS`) |
| `parole:{B}:feedbacks` | sorted set | feedback ids by creation time |
| `parole:{B}:rated:V:ID` | string, expires | a customer rated venue V within the duplicate window |
| `parole:pending` | sorted set | `B/F` of feedbacks in progress, by the time they count as abandoned |
| `parole:stream:feedback` | stream | feedbacks complete or abandoned, for the analysis (group `analysis`) |
| `parole:{B}:vocab` | hash | the brand's vocabulary: `LABEL:term` → JSON entry (label, text, id) |
| `parole:{B}:vocab:version` | string | counter bumped on every vocabulary change (workers reload on change) |
| `parole:{B}:events` | stream | what happened to the brand's feedback (`analysed`), for the staff room |
| `parole:workers` | hash | worker name → last heartbeat (Unix time) |
"""

from __future__ import annotations

PREFIX = "parole"
BRANDS = f"{PREFIX}:brands"
PENDING = f"{PREFIX}:pending"
FEEDBACK_STREAM = f"{PREFIX}:stream:feedback"
ANALYSIS_GROUP = "analysis"
WORKERS = f"{PREFIX}:workers"


def brand(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:brand"


def venues(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:venues"


def venue(brand_code: str, venue_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:venue:{venue_code}"


def token(venue_token: str) -> str:
    return f"{PREFIX}:token:{venue_token}"


def short_code(code: str) -> str:
    return f"{PREFIX}:short:{code}"


def chat(chat_id: int) -> str:
    return f"{PREFIX}:chat:{chat_id}"


def feedback(brand_code: str, feedback_id: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:feedback:{feedback_id}"


def feedbacks(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:feedbacks"


def rated(brand_code: str, venue_code: str, customer_id: int) -> str:
    return f"{PREFIX}:{{{brand_code}}}:rated:{venue_code}:{customer_id}"


def pending_member(brand_code: str, feedback_id: str) -> str:
    return f"{brand_code}/{feedback_id}"


def vocabulary(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:vocab"


def vocabulary_version(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:vocab:version"


def events(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:events"

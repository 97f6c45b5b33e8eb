"""Every Redis key parole uses, in one place.

A brand's keys carry the brand code as a hash tag (`parole:{quick}:…`) so that Redis Cluster keeps
them in one slot; keys looked up before the brand is known (a deep-link token, a short code, a chat)
are global. A Lua script or a MULTI may only touch one brand's keys; anything wider is a plain pipeline
(see `bot.storage.cluster`), and multi-key commands (DEL, EXISTS, …) take keys of one slot only.

`C` is a customer as `bot.storage.identity.CustomerId.key` writes them: a Telegram chat id (so the keys
of a store filled before there were other channels are the ones read now), or `channel:id`.

| key | type | holds |
| --- | --- | --- |
| `parole:brands` | set | brand codes |
| `parole:{B}:brand` | hash | the brand: code, name, created_at |
| `parole:{B}:venues` | sorted set | venue codes by creation time |
| `parole:{B}:venue:V` | hash | the venue: code, brand, name, city, lat, lon, language, token, short_code, created_at |
| `parole:token:T` | string | JSON of the venue reference a deep-link token opens |
| `parole:short:C` | string | JSON of the venue reference a short code opens |
| `parole:geo:venues` | geo (sorted set) | `B/V` of every venue with coordinates, at its longitude and latitude |
| `parole:chat:C` | string | JSON of the chat: `conversation`, `handled` (last update ids), `outbox` (`store`) |
| `parole:update:N:U` | string, expires | update U of N (`telegram`, `CHANNEL-chat`) claimed or handled (48 h) |
| `parole:chat:C:lock` | string, expires | taken while a process handles one of the chat's updates (10 s at most) |
| `parole:{B}:feedback:F` | hash | one feedback (see `bot.storage.store.FEEDBACK_FIELDS`) |
| `parole:{B}:feedbacks` | sorted set | feedback ids by creation time |
| `parole:{B}:rated:V:C` | string, expires | a customer rated venue V within the duplicate window |
| `parole:pending` | sorted set | `B/F` of feedbacks in progress, by the time they count as abandoned |
| `parole:stream:feedback` | stream | feedbacks complete or abandoned, for the analysis (group `analysis`) |
| `parole:{B}:vocab` | hash | the brand's vocabulary: `LABEL:term` → JSON entry (label, text, id) |
| `parole:{B}:vocab:version` | string | counter bumped on every vocabulary change (workers reload on change) |
| `parole:{B}:events` | stream | what happened to the brand's feedback (`analysed`), for the staff room |
| `parole:workers` | hash | worker name → last heartbeat (Unix time) |
| `parole:{B}:brand` field `deadline_hours` | | hours the brand gives itself for a first answer (default 24) |
| `parole:{B}:brand` field `ticket_policy` | | JSON: which feedback opens a ticket (`bot.staff.policy`) |
| `parole:{B}:venue:V` fields `ticket_policy`, `opening_hours` | | JSON: the venue's policy; its hours |
| `parole:secret` | string | the deployment's secret for customer pseudonyms (random, set once) |
| `parole:customer:C:salt` | string | the customer's pseudonym salt (their "pseudonym mapping"; `/forget` deletes it) |
| `parole:customer:C:feedbacks` | set | `B/F` of the customer's feedbacks (for `/mydata` and `/forget`) |
| `parole:customer:C:tickets` | sorted set | `B/N` of the customer's tickets by last activity |
| `parole:customer:C:resolution` | string, expires | `B/N`: ticket N closed, the customer asked if it is solved |
| `parole:invite:CODE` | string, expires | JSON `{brand, venue}` of a one-time staff-room code (`parole staff invite`) |
| `parole:room:CHAT` | hash | a staff room: brand, venue (`""`: the brand room), language, title, linked_at/by |
| `parole:{B}:rooms` | hash | the brand's staff rooms: chat id → venue code (`""` for the brand room) |
| `parole:{B}:ticket:seq` | string | counter of the brand's tickets (ticket number = 1000 + INCR) |
| `parole:{B}:ticket:N` | hash | ticket N: feedback, venue, status, pseudonym, room, card, times (`bot.staff.tickets`) |
| `parole:{B}:tickets` | sorted set | every ticket number by creation time |
| `parole:{B}:tickets:open` | sorted set | tickets neither closed nor spam, by creation time |
| `parole:{B}:feedback:F:replies` | list | the ticket's thread: JSON `{author: staff|customer, text, at}` |
| `parole:{B}:room-messages:CHAT` | hash | message id in staff room CHAT → ticket number (card, thread) |
| `parole:{B}:relayed:CHAT:M` | string, expires | staff message M of room CHAT was relayed already (idempotency) |
| `parole:{B}:relayed:web:NONCE` | string, expires | the web admin's answer form NONCE was relayed already |
| `parole:{B}:relayed:ticket-N:M` | string, expires | the customer's message M on ticket N was relayed already |
| `parole:{B}:room-queue:N` | list | JSON `{text, at}`: what ticket N's customer wrote while no staff room covered it |
| `parole:{B}:room-waiting` | set | numbers of the tickets whose customer messages wait for a staff room |
| `parole:cards:due` | sorted set | `B/F` of feedback whose card waits for its analysis, by when it goes without |
| `parole:cards:given-up` | string | counter of cards given up after `bot.staff.cards.CARD_ATTEMPTS` failed posts |
| `parole:mail:failed` | string | counter of e-mails (alerts, digests) the SMTP server refused or could not take |
| `parole:{B}:mail` | hash | admins' e-mail addresses → JSON `{name, alerts, digest, venues}` (`bot.staff.mail`) |
| `parole:{B}:mail:sent:W` | string | an alert or digest `W` sent (or being sent), kept 3 days: sent once |
| `parole:{B}:mail:test` | string, expires | the brand's test e-mail (web admin) went within the last minute |
| `parole:deadlines` | sorted set | `B/N` of unanswered tickets, by when the next reminder is due |
| `parole:{B}:news:V` | sorted set | the customers (`C`) who opted in to venue V's news, by opt-in time |
| `parole:{B}:news-draft:CHAT:M` | string, expires | `/news` M of room CHAT, previewed: until Envoyer or Annuler (1 h) |
| `parole:customer:C:news` | set | `B/V` of the venues whose news the customer receives (`/stopnews`, `/forget`) |
| `parole:{B}:newsjob:ID` | hash | a news broadcast (`bot.customers.broadcasts`): venue, text, room, cursor, counts |
| `parole:{B}:newsjob:ID:to` | list | its recipients (`C`), in order |
| `parole:{B}:newsjob:ID:fates` | hash | recipient `C` → sending, sent, blocked, failed, skipped or unsure |
| `parole:{B}:newsjob:ID:lease` | string, expires | the process sending it; expired: any bot process takes it over |
| `parole:newsjobs` | set | `B/ID` of the broadcasts not finished yet (resumed by the bot processes) |
| `parole:pictures` | hash | `B/N/MEDIA` → JSON: a customer's picture to fetch, for ticket N (`bot.staff.pictures`) |
| `parole:picture:B/N/MEDIA:lease` | string, expires | the process doing it; expired: any bot process takes it over |
| `parole:sends:next` | string, expires | the time of the next free slot for a broadcast's message (every process) |
| `parole:stream:feedback` group `notify` | | the staff notifier's reading of the feedback stream |
| `parole:{B}:events` group `notify` | | the staff notifier's reading of the brand's events (`analysed`) |
| `parole:{B}:overrides` | hash | the brand's active overrides: `template:NAME:LANG` or `flow` → JSON version |
| `parole:{B}:overrides:venue:V` | hash | venue V's active overrides, as above (they win over the brand's) |
| `parole:{_global}:overrides` | hash | the operators' global overrides, as above (the brand's win over them) |
| `<overrides hash>:history:DOC` | list | every version of a document, oldest first (`bot.editing.overrides.Version`) |
| `parole:overrides:revision` | string | bumped on every override change anywhere (bot processes reload) |
| `parole:weblogin:T` | string, expires | JSON `{user, brand}` of a one-time web admin login link |
| `parole:websession:S` | string, expires | JSON `{user, brand, csrf}` of a web admin session (the cookie holds S) |
| `parole:{outbound}:slots` | sorted set, expires | the bot's messages of the last and next seconds (µs; `outbound`) |
| `parole:{outbound}:slots:spans` | sorted set, expires | answers' slots that may go any time until their score (µs) |
| `parole:{outbound}:senders` | sorted set, expires | processes reserving slots for answers, by last reservation |
| `parole:{outbound}:blocked` | string, expires | a 429 was seen: nothing is sent before this time (µs, Redis clock) |
| `parole:{outbound}:chat:ID` | string, expires | staff messages to ID: when its bucket empties (`/forget` deletes) |
| `parole:web:{C}:log` | list | a web or kiosk customer's transcript: JSON events, oldest first |
| `parole:web:{C}:seq` | string | the last event number of that transcript |
| `parole:web:{C}:marks` | set | the posts and answers already in that transcript (a form posted twice counts once) |
| `parole:web:live:C` | pub/sub channel | the transcript's new events, for the pages open on any `parole serve` |
| `parole:web:doc:T` | string, expires | a file for a web customer to download (`/mydata`), as JSON |
| `parole:web:rate:WHO:WINDOW` | string, expires | requests of one client address or customer in one rate-limit window |
| `parole:kiosk:D:last` | string, expires | kiosk D took a feedback less than the kiosk gap ago |
| `parole:{outbound}:group:ID` | sorted set, expires | messages to group ID in the last 60 s (at most 20) |
| `parole:{B}:ix:seq` | string | counter of the inbox index's positions (a feedback's position: `ix` in its hash) |
| `parole:{B}:ix:ids:K` | hash | position → feedback id, for positions 128·K to 128·K+127 (`bot.storage.index`) |
| `parole:{B}:ix:all` | string (bitmap) | every indexed position |
| `parole:{B}:ix:days` | sorted set | UTC days (`YYYYMMDD`) by the first position stored that day |
| `parole:{B}:ix:f:GROUP:VALUE` | string (bitmap) | feedbacks of one venue, channel, rating, kind, aspect, state… |
| `parole:{B}:ix:p:WORD` | string | positions (4 bytes each) whose texts or thread have a rare word |
| `parole:{B}:ix:w:WORD` | string (bitmap) | the same for a frequent word (its positions moved there) |
| `parole:{B}:ix:tmp:R:N` | string (bitmap) | a query's intermediate result, deleted by the query's script |

The outbound keys share the hash tag `{outbound}`: one script reads the bot's slots and a chat's bucket together.
"""

from __future__ import annotations

from bot.storage.identity import CustomerId

PREFIX = "parole"
BRANDS = f"{PREFIX}:brands"
PENDING = f"{PREFIX}:pending"
FEEDBACK_STREAM = f"{PREFIX}:stream:feedback"
ANALYSIS_GROUP = "analysis"
WORKERS = f"{PREFIX}:workers"
NOTIFY_GROUP = "notify"
SECRET = f"{PREFIX}:secret"
CARDS_DUE = f"{PREFIX}:cards:due"
CARDS_GIVEN_UP = f"{PREFIX}:cards:given-up"
MAIL_FAILED = f"{PREFIX}:mail:failed"
# Global, like tokens and short codes: a customer's location is searched before any brand is known.
GEO_VENUES = f"{PREFIX}:geo:venues"
SEND_SLOT = f"{PREFIX}:sends:next"
NEWS_JOBS = f"{PREFIX}:newsjobs"
PICTURES = f"{PREFIX}:pictures"
DEADLINES = f"{PREFIX}:deadlines"
OVERRIDES_REVISION = f"{PREFIX}:overrides:revision"
#: The hash tag of the operators' global overrides: brand codes cannot start with "_", so none clashes.
GLOBAL_SCOPE = "_global"
OUTBOUND_BUCKET = f"{PREFIX}:{{outbound}}:slots"  # a string `:bucket` before the one budget: not reused
OUTBOUND_SENDERS = f"{PREFIX}:{{outbound}}:senders"
OUTBOUND_BLOCKED = f"{PREFIX}:{{outbound}}:blocked"


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


def chat(customer: CustomerId) -> str:
    return f"{PREFIX}:chat:{customer.key}"


def handled_update(namespace: str, update_id: int) -> str:
    """An update claimed or handled (`bot.storage.handled`): python-telegram-bot's (`telegram`), or a customer's as
    the conversation core read it (`CHANNEL-chat`)."""
    return f"{PREFIX}:update:{namespace}:{update_id}"


def chat_lock(customer: CustomerId) -> str:
    return f"{PREFIX}:chat:{customer.key}:lock"


def feedback(brand_code: str, feedback_id: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:feedback:{feedback_id}"


def feedbacks(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:feedbacks"


def rated(brand_code: str, venue_code: str, customer: CustomerId) -> str:
    return f"{PREFIX}:{{{brand_code}}}:rated:{venue_code}:{customer.key}"


def venue_member(brand_code: str, venue_code: str) -> str:
    """A venue in a global set (`parole:geo:venues`)."""
    return f"{brand_code}/{venue_code}"


def news_subscribers(brand_code: str, venue_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:news:{venue_code}"


def news_job(brand_code: str, job_id: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:newsjob:{job_id}"


def news_job_to(brand_code: str, job_id: str) -> str:
    return f"{news_job(brand_code, job_id)}:to"


def news_job_fates(brand_code: str, job_id: str) -> str:
    return f"{news_job(brand_code, job_id)}:fates"


def news_job_lease(brand_code: str, job_id: str) -> str:
    return f"{news_job(brand_code, job_id)}:lease"


def picture_lease(member: str) -> str:
    return f"{PREFIX}:picture:{member}:lease"


def news_draft(brand_code: str, chat_id: int, message_id: int) -> str:
    return f"{PREFIX}:{{{brand_code}}}:news-draft:{chat_id}:{message_id}"


def customer_news(customer: CustomerId) -> str:
    return f"{PREFIX}:customer:{customer.key}:news"


def pending_member(brand_code: str, feedback_id: str) -> str:
    return f"{brand_code}/{feedback_id}"


def vocabulary(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:vocab"


def vocabulary_version(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:vocab:version"


def events(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:events"


def customer_salt(customer: CustomerId) -> str:
    return f"{PREFIX}:customer:{customer.key}:salt"


def customer_feedbacks(customer: CustomerId) -> str:
    return f"{PREFIX}:customer:{customer.key}:feedbacks"


def customer_tickets(customer: CustomerId) -> str:
    return f"{PREFIX}:customer:{customer.key}:tickets"


def customer_resolution(customer: CustomerId) -> str:
    return f"{PREFIX}:customer:{customer.key}:resolution"


def invite(code: str) -> str:
    return f"{PREFIX}:invite:{code}"


def room(chat_id: int) -> str:
    return f"{PREFIX}:room:{chat_id}"


def mail_recipients(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:mail"


def mail_sent(brand_code: str, what: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:mail:sent:{what}"


def mail_test(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:mail:test"


def rooms(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:rooms"


def ticket_sequence(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:ticket:seq"


def ticket(brand_code: str, number: int) -> str:
    return f"{PREFIX}:{{{brand_code}}}:ticket:{number}"


def tickets(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:tickets"


def open_tickets(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:tickets:open"


def replies(brand_code: str, feedback_id: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:feedback:{feedback_id}:replies"


def room_messages(brand_code: str, chat_id: int) -> str:
    return f"{PREFIX}:{{{brand_code}}}:room-messages:{chat_id}"


def relayed(brand_code: str, chat_id: int, message_id: int) -> str:
    return f"{PREFIX}:{{{brand_code}}}:relayed:{chat_id}:{message_id}"


def web_relayed(brand_code: str, nonce: str) -> str:
    """A staff answer posted from the web admin's ticket page (its form's nonce) was relayed already."""
    return f"{PREFIX}:{{{brand_code}}}:relayed:web:{nonce}"


def room_queue(brand_code: str, number: int) -> str:
    return f"{PREFIX}:{{{brand_code}}}:room-queue:{number}"


def room_waiting(brand_code: str) -> str:
    return f"{PREFIX}:{{{brand_code}}}:room-waiting"


def customer_relayed(brand_code: str, number: int, message_id: int) -> str:
    """Named by the ticket, not the customer's chat: nothing keyed by their chat id outlives `/forget`."""
    return f"{PREFIX}:{{{brand_code}}}:relayed:ticket-{number}:{message_id}"


def ticket_member(brand_code: str, number: int) -> str:
    """A ticket in a global sorted set (`parole:deadlines`, a customer's tickets)."""
    return f"{brand_code}/{number}"


def overrides(brand_code: str | None, venue_code: str | None = None) -> str:
    """The active overrides of a scope: global (no brand), a brand, or one of its venues."""
    if brand_code is None:
        return f"{PREFIX}:{{{GLOBAL_SCOPE}}}:overrides"
    if venue_code is None:
        return f"{PREFIX}:{{{brand_code}}}:overrides"
    return f"{PREFIX}:{{{brand_code}}}:overrides:venue:{venue_code}"


def override_history(scope_key: str, document: str) -> str:
    """Every version of one document of a scope (same hash tag as the scope's `overrides` hash)."""
    return f"{scope_key}:history:{document}"


def index(brand_code: str) -> str:
    """The prefix of the brand's inbox index keys (`bot.storage.index`), hash tag included."""
    return f"{PREFIX}:{{{brand_code}}}:ix"


def web_login(token: str) -> str:
    return f"{PREFIX}:weblogin:{token}"


def web_session(session_id: str) -> str:
    return f"{PREFIX}:websession:{session_id}"


def outbound_chat(chat_id: str) -> str:
    return f"{PREFIX}:{{outbound}}:chat:{chat_id}"


def outbound_group(chat_id: str) -> str:
    return f"{PREFIX}:{{outbound}}:group:{chat_id}"


def web_log(customer: CustomerId) -> str:
    return f"{PREFIX}:web:{{{customer.key}}}:log"


def web_sequence(customer: CustomerId) -> str:
    return f"{PREFIX}:web:{{{customer.key}}}:seq"


def web_live(customer: CustomerId) -> str:
    return f"{PREFIX}:web:live:{customer.key}"


def web_document(token: str) -> str:
    return f"{PREFIX}:web:doc:{token}"


def web_rate(who: str, window: int) -> str:
    return f"{PREFIX}:web:rate:{who}:{window}"


def kiosk_last(device: str) -> str:
    return f"{PREFIX}:kiosk:{device}:last"


def web_marks(customer: CustomerId) -> str:
    """What a web customer's transcript already holds (`echo:U`, `answer:U`): a form posted twice adds it once."""
    return f"{PREFIX}:web:{{{customer.key}}}:marks"


WEB_LIVE_PATTERN = f"{PREFIX}:web:live:*"

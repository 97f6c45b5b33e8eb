"""The dialog engine: flows declared in YAML, the state machine, answer parsing and message templates.

Pure: it takes values and returns values. `bot/` turns Telegram updates into `Event`s, stores the
`Conversation` and `FeedbackRecord`s of each `Outcome`, and sends the replies `MessageRenderer` renders.
"""

from dialogs.answers import (
    SHORT_CODE_ALPHABET,
    SHORT_CODE_LENGTH,
    clean_text,
    is_skip,
    normalise_venue_code,
    parse_rating,
)
from dialogs.catalog import (
    FALLBACK_LANGUAGE,
    CatalogEntry,
    TemplateCatalog,
    TemplateKind,
    default_templates_dir,
    parse_catalog,
)
from dialogs.engine import DialogEngine
from dialogs.errors import CatalogError, DialogError, FlowError, TemplateError
from dialogs.flow import (
    FLOW_VARIABLES,
    VENUE_CODE_STEP,
    AnswerField,
    Branch,
    Flow,
    InputKind,
    Step,
    default_flow_path,
    load_flow,
    parse_flow,
)
from dialogs.keyboards import LANGUAGE_PREFIX, RATE_PREFIX, SKIP
from dialogs.messages import ENGINE_MESSAGES, MessageName
from dialogs.render import MessageRenderer, RenderedMessage
from dialogs.types import (
    Button,
    ButtonSpec,
    Command,
    Conversation,
    Event,
    FeedbackRecord,
    FeedbackStatus,
    MessagePart,
    NonText,
    Outcome,
    Reply,
    Start,
    Text,
    VenueCodeAnswer,
    VenueRef,
)

__all__ = [
    "ENGINE_MESSAGES",
    "FALLBACK_LANGUAGE",
    "FLOW_VARIABLES",
    "LANGUAGE_PREFIX",
    "RATE_PREFIX",
    "SHORT_CODE_ALPHABET",
    "SHORT_CODE_LENGTH",
    "SKIP",
    "VENUE_CODE_STEP",
    "AnswerField",
    "Branch",
    "Button",
    "ButtonSpec",
    "CatalogEntry",
    "CatalogError",
    "Command",
    "Conversation",
    "DialogEngine",
    "DialogError",
    "Event",
    "FeedbackRecord",
    "FeedbackStatus",
    "Flow",
    "FlowError",
    "InputKind",
    "MessageName",
    "MessagePart",
    "MessageRenderer",
    "NonText",
    "Outcome",
    "RenderedMessage",
    "Reply",
    "Start",
    "Step",
    "TemplateCatalog",
    "TemplateError",
    "TemplateKind",
    "Text",
    "VenueCodeAnswer",
    "VenueRef",
    "clean_text",
    "default_flow_path",
    "default_templates_dir",
    "is_skip",
    "load_flow",
    "normalise_venue_code",
    "parse_catalog",
    "parse_flow",
    "parse_rating",
]

"""Configuration: read once from the environment (and an optional `.env`), validated, secrets hidden."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bot.errors import ConfigError, problem

TELEGRAM_API_URL = "https://api.telegram.org/bot"
WHATSAPP_API_URL = "https://graph.facebook.com/v21.0"
_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{10,100}$")
_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


class Secret:
    """A string that never shows itself in `repr`, `str` or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class WhatsAppSettings:
    """WhatsApp through Meta's Cloud API: on when `PAROLE_WHATSAPP_TOKEN` and `..._PHONE_NUMBER_ID` are set."""

    token: Secret
    phone_number_id: str
    app_secret: Secret  # signs the webhook's posts (X-Hub-Signature-256)
    verify_token: Secret  # the webhook's verification handshake
    number: str  # the business number, digits only, for wa.me links
    api_url: str = WHATSAPP_API_URL  # the Graph API with its version
    reply_template: str | None = None  # approved template for messages outside the 24-hour window
    template_language: str = "fr"
    throughput: float = 80.0  # messages a second Meta lets the number send (80 by default, 20 for coexistence)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The SMTP server alerts and digests go through: on when `PAROLE_SMTP_HOST` is set."""

    host: str
    port: int
    sender: str  # the From address
    security: str = "starttls"  # "starttls", "tls" (implicit, port 465) or "none"
    username: str | None = None
    password: Secret | None = None
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of parole; see the configuration table in README.md."""

    telegram_token: Secret | None = None
    telegram_api_url: str = TELEGRAM_API_URL
    redis_url: str | None = None
    data_dir: Path = Path("var")
    webhook_url: str | None = None
    webhook_secret: Secret | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    bot_username: str | None = None
    duplicate_window_hours: float = 24.0
    conversation_timeout: float = 1800.0
    max_text_length: int = 2000
    log_level: str = "INFO"
    log_format: str = "text"
    web_url: str = "http://127.0.0.1:8081"  # where admins reach `parole web` (login links point there)
    web_secure_cookies: bool = False  # the web admin's cookies are Secure (default: when web_url is https)

    @property
    def redis_cluster(self) -> bool:
        """True when `PAROLE_REDIS_URL` names a node of a Redis Cluster (`redis+cluster://host:port`)."""
        return self.redis_url is not None and self.redis_url.startswith(tuple(s + "://" for s in CLUSTER_SCHEMES))

    outbound_per_second: float = 30.0
    public_url: str | None = None  # `parole serve`'s public base URL: turns the web channel on
    kiosk_gap: float = 60.0  # seconds between two feedbacks on one kiosk
    kiosk_idle: float = 90.0  # seconds after which a kiosk left alone starts again for the next person

    @property
    def web_chat(self) -> bool:
        """The web channel (landing pages, web chat, kiosks) is on."""
        return self.public_url is not None

    whatsapp: WhatsAppSettings | None = None
    smtp: SmtpSettings | None = None  # e-mail alerts and digests (none without it)

    def require_token(self) -> Secret:
        """Return the bot token, or fail naming the variable that must be set."""
        if self.telegram_token is None:
            raise ConfigError(
                "PAROLE_TELEGRAM_TOKEN",
                problem("config_token_required", "is required to talk to Telegram (get one from @BotFather)"),
            )
        return self.telegram_token


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file: `KEY=value` lines, `#` comments, optional quotes around the value."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}:{number}", problem("config_dotenv_line", "is not a KEY=value line"))
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    where = parsed.path if parsed.scheme == "unix" else parsed.netloc
    if parsed.scheme not in schemes or not where:
        raise ConfigError(
            name,
            problem(
                "config_url", "must be a URL starting with {schemes:or}", schemes=tuple(s + "://" for s in schemes)
            ),
        )
    return value


def _redis_url(value: str) -> None:
    name = "PAROLE_REDIS_URL"
    _url(name, value, ("redis", "rediss", "unix", *CLUSTER_SCHEMES))
    parsed = urlparse(value)
    if parsed.scheme not in CLUSTER_SCHEMES:
        return
    try:
        port = parsed.port
    except ValueError:
        port = None
    if not parsed.hostname or port is None:
        raise ConfigError(
            name,
            problem(
                "config_cluster_node", "must name one node of the cluster as host:port (redis+cluster://host:port)"
            ),
        )
    if parsed.path.strip("/") not in ("", "0"):
        raise ConfigError(
            name,
            problem("config_cluster_database", "cannot choose a database on a Redis Cluster (it has only database 0)"),
        )


def _positive(name: str, value: str, kind: type[int] | type[float]) -> float:
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(
            name, problem("config_positive", "must be a positive number, not {value!r}", value=value)
        ) from None
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(name, problem("config_positive", "must be a positive number, not {value!r}", value=value))
    return number


def load_settings(environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")) -> Settings:
    """Build `Settings` from the environment over an optional `.env`; fail on the first bad value."""
    env: dict[str, str] = read_dotenv(dotenv) if dotenv is not None else {}
    env.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value is not None and value.strip() else None

    token = get("PAROLE_TELEGRAM_TOKEN")
    if token is not None and not _TOKEN_RE.match(token):
        raise ConfigError(
            "PAROLE_TELEGRAM_TOKEN", problem("config_bot_token", "does not look like a bot token (123456:ABC-…)")
        )
    api_url = get("PAROLE_TELEGRAM_API_URL") or TELEGRAM_API_URL
    _url("PAROLE_TELEGRAM_API_URL", api_url, ("http", "https"))
    redis_url = get("PAROLE_REDIS_URL")
    if redis_url is not None:
        _redis_url(redis_url)
    webhook_url = get("PAROLE_WEBHOOK_URL")
    if webhook_url is not None:
        _url("PAROLE_WEBHOOK_URL", webhook_url, ("http", "https"))
    secret = get("PAROLE_WEBHOOK_SECRET")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError(
            "PAROLE_WEBHOOK_SECRET",
            problem("config_webhook_secret", "must be 1-256 characters of A-Z, a-z, 0-9, _ and -"),
        )
    admin_ids: set[int] = set()
    for item in (get("PAROLE_ADMIN_IDS") or "").replace(";", ",").split(","):
        if item.strip():
            if not re.fullmatch(r"-?\d{1,20}", item.strip()):
                raise ConfigError(
                    "PAROLE_ADMIN_IDS",
                    problem(
                        "config_admin_ids", "must be Telegram user ids separated by commas, not {item!r}", item=item
                    ),
                )
            admin_ids.add(int(item))
    username = get("PAROLE_BOT_USERNAME")
    if username is not None:
        username = username.removeprefix("@")
        if not _USERNAME_RE.match(username):
            raise ConfigError(
                "PAROLE_BOT_USERNAME",
                problem("config_username", "is not a Telegram username: {username!r}", username=username),
            )
    log_level = (get("PAROLE_LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("PAROLE_LOG_LEVEL", problem("config_log_level", "must be DEBUG, INFO, WARNING or ERROR"))
    log_format = (get("PAROLE_LOG_FORMAT") or "text").lower()
    if log_format not in {"text", "json"}:
        raise ConfigError("PAROLE_LOG_FORMAT", problem("config_log_format", "must be text or json"))
    window = get("PAROLE_DUPLICATE_WINDOW_HOURS")
    timeout = get("PAROLE_CONVERSATION_TIMEOUT")
    max_text = get("PAROLE_MAX_TEXT_LENGTH")
    web_url = _url("PAROLE_WEB_URL", get("PAROLE_WEB_URL") or "http://127.0.0.1:8081", ("http", "https"))
    outbound = get("PAROLE_OUTBOUND_PER_SECOND")
    public_url = get("PAROLE_PUBLIC_URL")
    if public_url is not None:
        _url("PAROLE_PUBLIC_URL", public_url, ("http", "https"))
        if urlparse(public_url).query or urlparse(public_url).fragment:
            raise ConfigError(
                "PAROLE_PUBLIC_URL", problem("config_base_url", "must be a base URL, without ?query or #fragment")
            )
    kiosk_gap = get("PAROLE_KIOSK_GAP")
    kiosk_idle = get("PAROLE_KIOSK_IDLE")
    secure = (get("PAROLE_WEB_SECURE_COOKIES") or "").lower()
    if secure not in {"", "true", "false"}:
        raise ConfigError(
            "PAROLE_WEB_SECURE_COOKIES",
            problem("config_secure_cookies", "must be true or false (unset: true when PAROLE_WEB_URL is https)"),
        )
    return Settings(
        telegram_token=Secret(token) if token else None,
        telegram_api_url=api_url,
        redis_url=redis_url,
        data_dir=Path(get("PAROLE_DATA_DIR") or "var"),
        webhook_url=webhook_url,
        webhook_secret=Secret(secret) if secret else None,
        admin_ids=frozenset(admin_ids),
        bot_username=username,
        duplicate_window_hours=_positive("PAROLE_DUPLICATE_WINDOW_HOURS", window, float) if window else 24.0,
        conversation_timeout=_positive("PAROLE_CONVERSATION_TIMEOUT", timeout, float) if timeout else 1800.0,
        max_text_length=int(_positive("PAROLE_MAX_TEXT_LENGTH", max_text, int)) if max_text else 2000,
        log_level=log_level,
        log_format=log_format,
        web_url=web_url.rstrip("/"),
        web_secure_cookies=secure == "true" if secure else web_url.startswith("https://"),
        outbound_per_second=_positive("PAROLE_OUTBOUND_PER_SECOND", outbound, float) if outbound else 30.0,
        public_url=public_url.rstrip("/") if public_url else None,
        kiosk_gap=_positive("PAROLE_KIOSK_GAP", kiosk_gap, float) if kiosk_gap else 60.0,
        kiosk_idle=_positive("PAROLE_KIOSK_IDLE", kiosk_idle, float) if kiosk_idle else 90.0,
        whatsapp=_whatsapp(get),
        smtp=_smtp(get),
    )


_MAIL_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_SECURITY = {"starttls": 587, "tls": 465, "none": 25}


def _smtp(get: Callable[[str], str | None]) -> SmtpSettings | None:
    """The SMTP settings, or None when e-mail is off (no `PAROLE_SMTP_HOST`)."""
    host = get("PAROLE_SMTP_HOST")
    if host is None:
        return None
    security = (get("PAROLE_SMTP_SECURITY") or "starttls").lower()
    if security not in _SECURITY:
        raise ConfigError("PAROLE_SMTP_SECURITY", problem("smtp_security", "must be starttls, tls or none"))
    port = get("PAROLE_SMTP_PORT")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError("PAROLE_SMTP_PORT", problem("smtp_port", "must be a port number, not {port!r}", port=port))
    sender = get("PAROLE_SMTP_FROM")
    if sender is None or not _MAIL_ADDRESS.match(sender):
        raise ConfigError(
            "PAROLE_SMTP_FROM",
            problem("smtp_from", "must be the address alerts come from (required with PAROLE_SMTP_HOST)"),
        )
    username, password = get("PAROLE_SMTP_USER"), get("PAROLE_SMTP_PASSWORD")
    if (username is None) != (password is None):
        missing = "PAROLE_SMTP_PASSWORD" if password is None else "PAROLE_SMTP_USER"
        raise ConfigError(
            missing, problem("smtp_pair", "goes with the other (PAROLE_SMTP_USER and PAROLE_SMTP_PASSWORD)")
        )
    return SmtpSettings(
        host=host, port=int(port) if port else _SECURITY[security], sender=sender, security=security,
        username=username, password=Secret(password) if password else None,
    )  # fmt: skip


_PHONE_NUMBER_ID = re.compile(r"^\d{1,30}$")
_GRAPH_TOKEN = re.compile(r"^[A-Za-z0-9_.|-]{16,2048}$")
_APP_SECRET = re.compile(r"^[A-Za-z0-9_-]{8,256}$")
_VERIFY_TOKEN = re.compile(r"^[!-~]{1,256}$")
_TEMPLATE = re.compile(r"^([a-z0-9_]{1,512})(?::([a-z]{2,3}(?:_[A-Z]{2})?))?$")


def _whatsapp(get: Callable[[str], str | None]) -> WhatsAppSettings | None:
    """The WhatsApp settings, or None when the channel is off (neither the token nor the phone number id)."""
    token, number_id = get("PAROLE_WHATSAPP_TOKEN"), get("PAROLE_WHATSAPP_PHONE_NUMBER_ID")
    if token is None and number_id is None:
        return None
    if token is None or number_id is None:
        missing = "PAROLE_WHATSAPP_TOKEN" if token is None else "PAROLE_WHATSAPP_PHONE_NUMBER_ID"
        raise ConfigError(
            missing,
            problem("config_whatsapp_pair", "is required with the other WhatsApp setting (both turn WhatsApp on)"),
        )
    if not _GRAPH_TOKEN.match(token):
        raise ConfigError(
            "PAROLE_WHATSAPP_TOKEN", problem("config_graph_token", "does not look like a Graph API access token")
        )
    if not _PHONE_NUMBER_ID.match(number_id):
        raise ConfigError(
            "PAROLE_WHATSAPP_PHONE_NUMBER_ID",
            problem("config_phone_number_id", "must be the digits Meta shows, not {number_id!r}", number_id=number_id),
        )
    app_secret, verify = get("PAROLE_WHATSAPP_APP_SECRET"), get("PAROLE_WHATSAPP_VERIFY_TOKEN")
    if app_secret is None or not _APP_SECRET.match(app_secret):
        raise ConfigError(
            "PAROLE_WHATSAPP_APP_SECRET",
            problem("config_app_secret", "is required with WhatsApp: the app secret (8-256 letters/digits)"),
        )
    if verify is None or not _VERIFY_TOKEN.match(verify):
        raise ConfigError(
            "PAROLE_WHATSAPP_VERIFY_TOKEN",
            problem("config_verify_token", "is required with WhatsApp: 1-256 printable characters"),
        )
    number = re.sub(r"[\s.()-]", "", get("PAROLE_WHATSAPP_NUMBER") or "").removeprefix("+").removeprefix("00")
    if not re.fullmatch(r"[1-9]\d{6,14}", number):
        raise ConfigError(
            "PAROLE_WHATSAPP_NUMBER",
            problem("config_whatsapp_number", "is required with WhatsApp: the business number in international form"),
        )
    api_url = _url("PAROLE_WHATSAPP_API_URL", get("PAROLE_WHATSAPP_API_URL") or WHATSAPP_API_URL, ("http", "https"))
    template, language = None, "fr"
    if (named := get("PAROLE_WHATSAPP_REPLY_TEMPLATE")) is not None:
        found = _TEMPLATE.match(named)
        if found is None:
            raise ConfigError(
                "PAROLE_WHATSAPP_REPLY_TEMPLATE",
                problem("config_reply_template", "must be a template name (a-z, 0-9, _), optionally :LANGUAGE"),
            )
        template, language = found.group(1), found.group(2) or "fr"
    throughput = get("PAROLE_WHATSAPP_THROUGHPUT")
    return WhatsAppSettings(
        Secret(token), number_id, Secret(app_secret), Secret(verify), number, api_url.rstrip("/"), template, language,
        throughput=_positive("PAROLE_WHATSAPP_THROUGHPUT", throughput, float) if throughput else 80.0,
    )  # fmt: skip

"""One settings object, read from environment variables (and an optional .env file)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Literal

import limits
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stockdash.core.mongo import MongoTarget, is_mongo_url, mongo_target

DEFAULT_JWT_SECRET = "dev-insecure-change-me-not-for-production"  # noqa: S105 - the refusal below is the point

logger = logging.getLogger(__name__)
MIN_JWT_SECRET_LENGTH = 32
BROKER_SCHEMES = ("amqp", "amqps", "redis", "rediss")

Environment = Literal["development", "test", "staging", "production"]


class InsecureConfigError(RuntimeError):
    """The configuration is unsafe for the chosen environment."""


class Settings(BaseSettings):
    """Every knob of the service, named as the environment variable that sets it."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Environment = "development"
    log_level: str = "INFO"
    # json: one JSON object per line (containers, log shippers); console: readable key=value.
    log_format: Literal["json", "console"] = "json"
    data_dir: Path = Path("./data")

    # Observability
    sentry_dsn: str = ""
    sentry_traces_sample_rate: float = Field(0.0, ge=0, le=1)
    # Port of the metrics endpoint of `stockdash worker`/`scheduler` (0: none); the API serves
    # /metrics on its own port.
    metrics_port: int = Field(0, ge=0, le=65535)
    metrics_top_symbols: int = Field(20, ge=1, le=200)

    # Storage
    database_url: str = ""
    # MongoDB is selected by DATABASE_URL=mongodb://host/db, or (as in the seed) by MONGODB_URL
    # with DATABASE_NAME when DATABASE_URL is empty.
    mongodb_url: str = ""
    database_name: str = "ai_stock_dashboard"
    # Multi-document transactions on MongoDB: "auto" uses them when the server is a replica-set
    # member or a mongos (its `hello` says so), "on" when it runs them without saying so (the
    # mongoeco test server), "off" never (each write then stands alone).
    mongodb_transactions: Literal["auto", "on", "off"] = "auto"
    # Where read-only units read (dashboard, listings, admin statistics: staleness is harmless);
    # writes and read-your-writes reads (authentication) always use the primary.
    mongodb_read_preference: Literal[
        "primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"
    ] = "secondaryPreferred"
    db_pool_size: int = Field(10, ge=1)
    readiness_timeout_seconds: float = Field(2.0, gt=0, le=60)
    # PostgreSQL: how long a request waits to connect (or for a pooled connection) and for one
    # statement before it answers 503 database_unavailable instead of hanging on a dead server.
    db_connect_timeout_seconds: float = Field(2.0, gt=0, le=60)
    db_statement_timeout_seconds: float = Field(3.0, gt=0, le=600)
    database_schema: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

    # Authentication
    jwt_secret_key: str = DEFAULT_JWT_SECRET
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_expiration_hours: float = Field(24, gt=0, le=24 * 30)
    bcrypt_rounds: int = Field(12, ge=4, le=16)
    # zxcvbn score (0-4) a new password needs; 3 = "safely unguessable", 0 turns the check off.
    password_min_score: int = Field(3, ge=0, le=4)
    access_token_expire_minutes: float = Field(15, gt=0, le=24 * 60)
    email_verification_expire_hours: float = Field(48, gt=0, le=24 * 30)
    password_reset_expire_minutes: float = Field(60, gt=0, le=24 * 60)
    require_email_verification: bool = False

    # Email (no SMTP_HOST: messages go to the log and to data_dir/outbox)
    public_base_url: str = "http://127.0.0.1:8000"
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    emails_from: str = "stockdash <noreply@localhost>"

    # External APIs
    openai_api_key: str | None = None
    groq_api_key: str | None = None
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    polygon_api_key: str | None = None
    polygon_requests_per_minute: int = Field(5, ge=1)
    # Base URLs of the live providers: point them at a proxy, a mock or a regional endpoint.
    polygon_base_url: str = Field("https://api.polygon.io", pattern=r"^https?://")
    edgar_base_url: str = Field("https://data.sec.gov", pattern=r"^https?://")
    yahoo_base_url: str = Field("https://query1.finance.yahoo.com", pattern=r"^https?://")
    # Yahoo's session-cookie host (its crumb handshake, needed for profiles and statements).
    yahoo_cookie_url: str = Field("https://fc.yahoo.com", pattern=r"^https?://")
    yahoo_requests_per_minute: int = Field(60, ge=1)
    # A user request waits at most this long for a live provider, then gets the last good copy
    # or the snapshot (the refresh fetches it in the background).
    provider_deadline_seconds: float = Field(2.0, gt=0, le=60)
    # Per-provider circuit breaker: open after this many failed calls in a row, half-open
    # (one trial call) this many seconds later.
    provider_breaker_failures: int = Field(5, ge=1, le=1000)
    provider_breaker_reset_seconds: float = Field(30.0, gt=0, le=3600)
    # While a provider fails, the refresh waits this long before calling it again, doubling per
    # failed attempt up to the max (and at least what a Retry-After asked for).
    refresh_backoff_seconds: float = Field(60.0, gt=0, le=3600)
    refresh_backoff_max_seconds: float = Field(1800.0, gt=0, le=24 * 3600)
    sec_user_agent: str | None = None
    market_data_provider: Literal["snapshot", "polygon", "yahoo"] = "snapshot"
    # When a live provider fails with nothing cached, serve the shipped snapshot (marked stale)
    # instead of a 503.
    market_snapshot_fallback: bool = True

    # Scaling
    max_workers: int = Field(4, ge=1)
    redis_url: str | None = None
    redis_key_prefix: str = Field("stockdash:", min_length=1, max_length=64)
    cache_ttl: int = Field(1800, ge=1)
    refresh_interval_seconds: int = Field(1800, ge=0)
    warm_analysis_context: bool = True
    # The current user is cached in each process this long at most (0: off); changes reach every
    # instance on the next request anyway, through a per-user version (in Redis when configured).
    user_cache_seconds: float = Field(30.0, ge=0, le=3600)
    # Ready-made dashboard cards (quote, sparkline, analyses as JSON) kept in each process, in
    # front of the shared cache; entries are versioned, so this only bounds memory.
    card_cache_entries: int = Field(4096, ge=0, le=1_000_000)
    # With Redis, quotes and histories are also kept this long in each process (0: off): a
    # refresh reaches every instance at most this much later, and a request saves a round trip.
    market_near_cache_seconds: float = Field(1.0, ge=0, le=60)
    # With Redis: how much memory each process may give its near copies (quotes, histories,
    # user and card versions), least recently used dropped first.
    market_near_cache_mb: int = Field(64, ge=0, le=16_384)
    # The hottest authenticated reads (dashboard, watchlist, quote, history) answered before
    # routing with the same bytes and headers (false: every request takes the full stack).
    fast_lane_enabled: bool = True
    # Redis timeouts: Redis is an accelerator, so a slow one must not hold requests.
    redis_connect_timeout_seconds: float = Field(0.5, gt=0, le=30)
    redis_command_timeout_seconds: float = Field(1.0, gt=0, le=60)
    # Connections per pool and process; callers beyond it wait (up to the command timeout).
    redis_max_connections: int = Field(64, ge=2, le=10_000)
    # After a Redis error, callers skip Redis (cache misses, in-process rate limits) this long
    # before one of them tries it again, so an outage costs one timeout per interval, not per call.
    redis_retry_seconds: float = Field(5.0, gt=0, le=300)
    # Redis client-side caching (CLIENT TRACKING, broadcast mode): each process keeps the user
    # versions, card versions, quotes and histories it read until Redis pushes that they changed,
    # so a warm request makes no round trip (false: read Redis on every request).
    redis_client_tracking: bool = True

    # Queue and processes (no BROKER_URL: an in-process broker, worker and scheduler)
    broker_url: str | None = None
    broker_queue: str = Field("stockdash", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    broker_connect_timeout_seconds: float = Field(10.0, gt=0, le=300)
    # Redis streams only: a message unacknowledged this long (its worker died) is redelivered.
    broker_redelivery_seconds: float = Field(300.0, ge=1)
    worker_concurrency: int = Field(4, ge=1, le=256)
    refresh_batch_size: int = Field(100, ge=1, le=1000)
    job_max_attempts: int = Field(3, ge=1, le=20)
    job_retry_backoff_seconds: float = Field(2.0, ge=0, le=600)
    # A running job's heartbeat: another delivery takes it over only after this long without one.
    job_lease_seconds: float = Field(60.0, ge=2, le=3600)
    job_retention_days: int = Field(7, ge=1, le=365)
    # The active scheduler renews its Redis lease every third of this; a standby takes over after it.
    scheduler_lock_seconds: float = Field(30.0, ge=2, le=3600)

    # Finance assumptions (documented in docs/analysts.md)
    risk_free_rate: float = Field(0.042, ge=0, le=0.2)
    equity_risk_premium: float = Field(0.05, ge=0, le=0.2)
    # DCF cost of debt = risk-free rate + DCF_CREDIT_SPREAD; DCF_TAX_RATE gives the tax shield.
    dcf_credit_spread: float = Field(0.015, ge=0, le=0.2)
    dcf_tax_rate: float = Field(0.21, ge=0, le=0.6)

    # HTTP
    cors_origins: list[str] = ["http://127.0.0.1:5173", "http://localhost:5173"]
    max_request_bytes: int = Field(1024 * 1024, ge=1024)
    # All request headers together (nginx's default large_client_header_buffers is 4 x 8 KiB).
    max_header_bytes: int = Field(32 * 1024, ge=4096)
    trust_proxy_headers: bool = False
    trusted_proxy_hops: int = Field(1, ge=1, le=10)
    hsts_max_age_seconds: int = Field(31_536_000, ge=0)
    # The built frontend served at /; unset = the checkout's frontend/dist (if built).
    frontend_dist: Path | None = None

    # Rate limits ("N/second|minute|hour|day"; moving window, Redis-backed when REDIS_URL is set)
    rate_limit_enabled: bool = True
    rate_limit_key_prefix: str = "stockdash-rl"
    rate_limit_login_ip: str = "10/minute"
    rate_limit_login_account: str = "5/minute"
    # Every client together, per account: the ceiling a distributed guesser can reach.
    rate_limit_login_account_total: str = "50/hour"
    rate_limit_register_ip: str = "20/minute;200/hour"
    rate_limit_verify_resend: str = "3/hour"
    rate_limit_password_reset: str = "5/hour"  # noqa: S105 - a rate, not a secret
    rate_limit_api_free: str = "60/minute"
    rate_limit_api_pro: str = "120/minute"
    rate_limit_api_expert: str = "240/minute"
    rate_limit_api_key: str = "60/minute"

    # Feature flags (the seed's FEATURES dict)
    feature_user_registration: bool = True
    feature_multi_ai_analysis: bool = True
    feature_premium_features: bool = False
    # The live stream (GET /api/v1/events) and the refresh's update events; alerts and
    # notifications work without it (in-app list and email), only their live push stops.
    feature_real_time_updates: bool = True

    # Live updates (stockdash.events): how often a quiet stream sends a heartbeat (and checks the
    # user's session is still valid), how long a stream token lasts, how many events the log
    # keeps for replay after a reconnect.
    events_heartbeat_seconds: float = Field(15.0, gt=0, le=300)
    events_token_seconds: int = Field(60, ge=5, le=3600)
    events_log_length: int = Field(10_000, ge=100, le=1_000_000)
    # Alert emails in `digest` mode: at most one per user per this many hours.
    notification_digest_hours: float = Field(24.0, gt=0, le=24 * 7)

    @field_validator("jwt_secret_key", mode="before")
    @classmethod
    def _blank_secret(cls, value: object) -> object:
        # JWT_SECRET_KEY= (as in .env.example) means "not set", never an empty signing key.
        if value is None or (isinstance(value, str) and not value.strip()):
            return DEFAULT_JWT_SECRET
        return value

    @field_validator("database_schema", mode="before")
    @classmethod
    def _blank_schema(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("smtp_tls", mode="before")
    @classmethod
    def _tls_flag(cls, value: object) -> object:
        # SMTP_TLS=true/false reads as STARTTLS on/off.
        flags = {"true": "starttls", "1": "starttls", "false": "none", "0": "none"}
        if isinstance(value, bool):
            return "starttls" if value else "none"
        text = str(value).strip().lower()
        return flags.get(text, text)

    @field_validator(
        "smtp_host",
        "smtp_user",
        "smtp_password",
        "frontend_dist",
        "redis_url",
        "broker_url",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator(
        "rate_limit_login_ip",
        "rate_limit_login_account",
        "rate_limit_login_account_total",
        "rate_limit_register_ip",
        "rate_limit_verify_resend",
        "rate_limit_password_reset",
        "rate_limit_api_free",
        "rate_limit_api_pro",
        "rate_limit_api_expert",
        "rate_limit_api_key",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if not limits.parse_many(value):  # raises ValueError on a malformed limit
            raise ValueError("no rate limit given")
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, value: str | None) -> str | None:
        if value and value.split("://", 1)[0].lower() not in BROKER_SCHEMES:
            raise ValueError("BROKER_URL must start with amqp://, amqps://, redis:// or rediss://")
        return value

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def mongo(self) -> MongoTarget | None:
        """The MongoDB database the settings select, or None (SQL)."""
        if self.database_url:
            return mongo_target(self.database_url, self.database_name)
        return mongo_target(self.mongodb_url, self.database_name) if self.mongodb_url else None

    @property
    def resolved_database_url(self) -> str:
        """The SQL database URL, defaulting to a SQLite file under data_dir (also with MongoDB,
        for the domains that have no MongoDB repositories yet)."""
        if self.database_url and not is_mongo_url(self.database_url):
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'stockdash.db').as_posix()}"

    @property
    def broker_kind(self) -> Literal["memory", "amqp", "redis"]:
        """Which queue BROKER_URL names (memory: none set, the in-process default)."""
        if not self.broker_url:
            return "memory"
        if self.broker_url.split("://", 1)[0].lower() in ("amqp", "amqps"):
            return "amqp"
        return "redis"  # the validator allows nothing else

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is SQLite (not with MongoDB selected: then no SQL
        database is used at all)."""
        return self.mongo is None and self.resolved_database_url.startswith("sqlite")

    def check_secure(self) -> None:
        """Refuse a default, blank or short JWT secret outside development; warn in development."""
        if self.environment == "development":
            if self.jwt_secret_key == DEFAULT_JWT_SECRET:
                logger.warning(
                    "JWT_SECRET_KEY is not set: using the built-in development secret. "
                    "Set a long random one (e.g. `openssl rand -hex 32`) before deploying."
                )
            elif len(self.jwt_secret_key) < MIN_JWT_SECRET_LENGTH:
                logger.warning(
                    "JWT_SECRET_KEY is shorter than %d characters; it would be refused "
                    "outside development.",
                    MIN_JWT_SECRET_LENGTH,
                )
            return
        if self.jwt_secret_key == DEFAULT_JWT_SECRET:
            raise InsecureConfigError(
                "JWT_SECRET_KEY is not set (or is the built-in development default); set a long "
                "random secret (e.g. `openssl rand -hex 32`) before running with "
                f"ENVIRONMENT={self.environment}."
            )
        if len(self.jwt_secret_key) < MIN_JWT_SECRET_LENGTH:
            raise InsecureConfigError(
                f"JWT_SECRET_KEY must be at least {MIN_JWT_SECRET_LENGTH} characters outside "
                "development."
            )


def redact_url(url: str) -> str:
    """A connection URL without its credentials (for logs and messages)."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def normalise_database_url(url: str) -> str:
    """Map plain driver URLs to their async SQLAlchemy dialects."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings, read once."""
    return Settings()

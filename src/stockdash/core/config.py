"""One settings object, read from environment variables (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_JWT_SECRET = "dev-insecure-change-me-not-for-production"  # noqa: S105 - the refusal below is the point

Environment = Literal["development", "test", "staging", "production"]


class InsecureConfigError(RuntimeError):
    """The configuration is unsafe for the chosen environment."""


class Settings(BaseSettings):
    """Every knob of the service, named as the environment variable that sets it."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Environment = "development"
    log_level: str = "INFO"
    data_dir: Path = Path("./data")

    # Storage
    database_url: str = ""
    mongodb_url: str = "mongodb://localhost:27017"
    database_name: str = "ai_stock_dashboard"
    db_pool_size: int = Field(10, ge=1)

    # Authentication
    jwt_secret_key: str = DEFAULT_JWT_SECRET
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_expiration_hours: float = Field(24, gt=0, le=24 * 30)
    bcrypt_rounds: int = Field(12, ge=4, le=16)

    # External APIs
    openai_api_key: str | None = None
    groq_api_key: str | None = None
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    polygon_api_key: str | None = None
    polygon_requests_per_minute: int = Field(5, ge=1)
    sec_user_agent: str | None = None
    market_data_provider: Literal["snapshot", "polygon"] = "snapshot"

    # Scaling
    max_workers: int = Field(4, ge=1)
    redis_url: str | None = None
    cache_ttl: int = Field(1800, ge=1)
    refresh_interval_seconds: int = Field(1800, ge=0)
    warm_analysis_context: bool = True

    # Finance assumptions (documented in docs/analysts.md)
    risk_free_rate: float = Field(0.042, ge=0, le=0.2)
    equity_risk_premium: float = Field(0.05, ge=0, le=0.2)

    # HTTP
    cors_origins: list[str] = ["http://127.0.0.1:5173", "http://localhost:5173"]

    # Feature flags (the seed's FEATURES dict)
    feature_user_registration: bool = True
    feature_multi_ai_analysis: bool = True
    feature_premium_features: bool = False
    feature_real_time_updates: bool = False

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under data_dir."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'stockdash.db').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is SQLite."""
        return self.resolved_database_url.startswith("sqlite")

    def check_secure(self) -> None:
        """Refuse to run outside development with the default JWT secret."""
        if self.environment != "development" and self.jwt_secret_key == DEFAULT_JWT_SECRET:
            raise InsecureConfigError(
                "JWT_SECRET_KEY is the built-in development default; set a long random secret "
                f"(e.g. `openssl rand -hex 32`) before running with ENVIRONMENT={self.environment}."
            )
        if self.environment != "development" and len(self.jwt_secret_key) < 32:
            raise InsecureConfigError(
                "JWT_SECRET_KEY must be at least 32 characters outside development."
            )


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

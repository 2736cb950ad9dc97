"""Server settings, read from ``CONVOSCOPE_*`` environment variables.

A wrong value fails at start with a message that names the variable and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from convoscope.errors import SettingsError

DEFAULT_DATABASE_URL = "sqlite:///./data/convoscope.db"


LLM_PREFIX = "CONVOSCOPE_LLM_"


def _within(kind: type[float] | type[int], low: float, high: float) -> Callable[[Any], Any]:
    """A number of ``kind`` in [low, high]; outside them a value is a typo, not a choice."""

    def check(raw: Any) -> Any:
        value = raw
        if isinstance(raw, str):
            try:
                value = kind(raw.strip())
            except ValueError:
                what = "a number" if kind is float else "a whole number"
                raise ValueError(f"must be {what}; got {raw.strip()!r}") from None
        if not low <= value <= high:  # also refuses NaN
            raise ValueError(f"must be between {low:g} and {high:g}; got {value}")
        return value

    return check


class LLMSettings(BaseSettings):
    """The optional LLM analyzer: where the model is served and how hard it may be used.
    Each field is ``CONVOSCOPE_LLM_<FIELD>``; without a base URL the analyzer is off.

    ``api_key`` may be empty for servers that need none (a local Ollama or vLLM); it is
    left out of ``repr`` so it cannot reach a log through the settings.
    """

    model_config = SettingsConfigDict(
        env_prefix=LLM_PREFIX, frozen=True, extra="ignore", env_ignore_empty=True
    )

    base_url: str = Field(
        "",
        description="An OpenAI-compatible endpoint; requests go to {base_url}/chat/completions "
        "(OpenAI: https://api.openai.com/v1, Ollama: http://localhost:11434/v1). Empty: off.",
    )
    api_key: str = Field(
        "", repr=False, description="Sent as Authorization: Bearer …; empty for none."
    )
    model: str = Field("", description="The model the server serves, e.g. gpt-4o-mini.")
    timeout_seconds: Annotated[float, BeforeValidator(_within(float, 0.1, 600))] = Field(
        30.0, description="Deadline of one request: connecting, sending, reading the answer."
    )
    max_concurrency: Annotated[int, BeforeValidator(_within(int, 1, 64))] = Field(
        4, description="Requests in flight at once."
    )
    requests_per_minute: Annotated[int, BeforeValidator(_within(int, 1, 100_000))] = Field(
        60, description="Request starts, spaced evenly across batches."
    )
    threads_per_request: Annotated[int, BeforeValidator(_within(int, 1, 50))] = Field(
        8, description="Threads annotated by one request."
    )
    max_chars_per_message: Annotated[int, BeforeValidator(_within(int, 100, 100_000))] = Field(
        2000, description="Question and answer are each cut to this many characters."
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must start with http:// or https:// (for OpenAI: https://api.openai.com/v1); "
                f"got {hide_credentials(value)!r}"
            )
        return value.rstrip("/")

    @field_validator("api_key", "model")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _check_model(self) -> LLMSettings:
        if self.base_url and not self.model:
            raise ValueError(
                f"{LLM_PREFIX}MODEL must be set when {LLM_PREFIX}BASE_URL is: the model "
                "name the server knows, such as gpt-4o-mini or llama3.1:8b"
            )
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LLMSettings | None:
        """The settings in ``environ`` (a child process's, the CLI's); None when the
        base URL is unset. Raises ValueError naming the variable at fault."""
        values = {
            name: environ[LLM_PREFIX + name.upper()].strip()
            for name in cls.model_fields
            if environ.get(LLM_PREFIX + name.upper(), "").strip()
        }
        try:
            # model_validate, not the constructor: only ``environ`` is read.
            settings = cls.model_validate(values)
        except ValidationError as err:
            raise ValueError(_llm_problem(err)) from None
        return settings if settings.enabled else None


def _llm_problem(err: ValidationError) -> str:
    problem = err.errors()[0]
    message = str(problem["msg"]).removeprefix("Value error, ")
    if not problem["loc"]:
        return message
    return f"{LLM_PREFIX}{str(problem['loc'][0]).upper()} {message}"


class Settings(BaseSettings):
    """Everything the server can be told. Each field is ``CONVOSCOPE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="CONVOSCOPE_", frozen=True, extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path/to/file.db (embedded, the default) or "
        "postgresql+psycopg://user:password@host:5432/dbname.",
    )
    read_database_url: str = Field(
        "",
        description="Streaming replicas of a PostgreSQL database_url, comma-separated: "
        "analytics queries, exports and dashboard reads go to them in turn; writes and "
        "reads of what was just written go to the primary. Empty: everything on the primary.",
    )
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(8080, description="TCP port.")
    max_body_bytes: Annotated[int, Field(ge=1024)] = Field(
        2 * 1024 * 1024, description="Largest request body accepted, in bytes."
    )
    otlp_max_decompressed_bytes: Annotated[int, Field(ge=1024)] = Field(
        16 * 1024 * 1024,
        description="Largest OTLP trace export accepted at /v1/traces once gunzipped, in "
        "bytes (the body as sent is bound by max_body_bytes).",
    )
    write_batch_size: Annotated[int, Field(ge=1, le=10_000)] = Field(
        256, description="Most writes committed together in one transaction (group commit)."
    )
    write_queue_limit: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        2_000,
        description="Most writes waiting for the writer, and most requests with a body "
        "handled at once; past it a request is answered 503 with Retry-After before it is "
        "parsed, so overload slows clients down instead of filling memory.",
    )
    write_connections: Annotated[int, Field(ge=1, le=64)] = Field(
        2,
        description="On PostgreSQL: writer threads per server process, each with a "
        "connection of its own, taking group commits from one queue (SQLite has one).",
    )
    query_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        30.0, description="Time limit for one analytics query."
    )
    key_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        5.0,
        description="How long a verified API key is remembered; a revoked key stops "
        "working after at most this long.",
    )
    public_url: str | None = Field(
        None,
        description="The address people open the dashboard at, as sign-in links give it "
        "(default http://HOST:PORT); an https address also marks the session cookie Secure.",
    )
    log_level: str = Field("info", description="debug, info, warning or error.")
    auto_index: bool = Field(
        True,
        description="Index a JSON path after a query spends auto_index_seconds reading it "
        "(on SQLite, in tables of at most 5 million rows; see `convoscope indexes`); when "
        "false, log the command that would.",
    )
    auto_index_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        0.5, description="How long a query over JSON paths may take before they are indexed."
    )
    annotation_worker: bool = Field(
        True,
        description="Annotate semantic threads in the background (in a child process "
        "at low priority, never in the request path).",
    )
    annotation_batch_size: Annotated[int, Field(ge=1, le=10_000)] = Field(
        64, description="Threads the annotation worker claims and annotates at a time."
    )
    annotation_poll_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        2.0, description="How long the annotation worker sleeps when there is nothing to do."
    )
    lease_poll_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        5.0,
        description="With several server processes on one PostgreSQL: how often a process "
        "tries to take over a background job whose holder has gone.",
    )
    retention_interval_seconds: Annotated[float, Field(gt=0, le=7 * 86400)] = Field(
        3600.0,
        description="How often conversations past their project's retention_days are "
        "deleted (and the disk space freed).",
    )
    llm: LLMSettings = Field(
        default_factory=LLMSettings,
        description="The optional LLM analyzer, one CONVOSCOPE_LLM_<FIELD> variable each.",
    )
    pii_model: str = Field(
        "",
        description="A spaCy pipeline (an installed package name or a directory) for the "
        "person and location kinds of redaction; needs convoscope[pii]. Empty: off.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value.startswith("postgres://") or value.startswith("postgresql://"):
            raise ValueError(
                "use the psycopg 3 driver: write postgresql+psycopg://… instead of "
                f"{value.split('://', 1)[0]}://…"
            )
        if not (value.startswith("sqlite:///") or value.startswith("postgresql+psycopg://")):
            raise ValueError(
                "must start with sqlite:/// or postgresql+psycopg://; "
                f"got {hide_credentials(value)!r}"
            )
        return value

    @field_validator("read_database_url")
    @classmethod
    def _check_read_database_url(cls, value: str, info: ValidationInfo) -> str:
        primary = str(info.data.get("database_url", ""))
        if value.strip() and not primary.startswith("postgresql"):
            raise ValueError("names PostgreSQL replicas, but CONVOSCOPE_DATABASE_URL is not one")
        for url in (part.strip() for part in value.split(",") if part.strip()):
            if not url.startswith("postgresql+psycopg://"):
                raise ValueError(
                    "each replica must be a postgresql+psycopg://… URL (SQLite has no "
                    f"replicas); got {hide_credentials(url)!r}"
                )
        return value

    @property
    def read_database_urls(self) -> list[str]:
        return [part.strip() for part in self.read_database_url.split(",") if part.strip()]

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError(f"must be one of debug, info, warning, error; got {value!r}")
        return value.lower()

    @property
    def base_url(self) -> str:
        """Where the dashboard is reached, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one line per bad variable."""
    try:
        llm = LLMSettings()
    except ValidationError as err:
        raise SettingsError(_llm_problem(err)) from None
    try:
        return Settings(**{"llm": llm, **overrides})  # type: ignore[arg-type]
    except ValidationError as err:
        lines = []
        for problem in err.errors():
            name = "CONVOSCOPE_" + str(problem["loc"][0]).upper() if problem["loc"] else "?"
            lines.append(f"{name}: {problem['msg'].removeprefix('Value error, ')}")
        raise SettingsError("\n".join(lines)) from None


def hide_credentials(url: str) -> str:
    """``url`` with the password of any ``user:password@`` replaced by ``***``, so a URL
    (a database's, an LLM server's) can be quoted in a message or a log."""
    head, at, host = url.rpartition("@")
    if not at:
        return url
    scheme, sep, credentials = head.rpartition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"

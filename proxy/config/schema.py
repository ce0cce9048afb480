"""The gateway's whole configuration, as pydantic models.

Every option is declared once, with its type, default and description; the JSON Schema
(``switchboard config schema``), ``config check`` and the settings window all read these
models. Unknown fields are errors (``extra="forbid"``) so a typo never passes silently.
Secrets are never stored here: a provider names where its key comes from (:class:`SecretRef`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from proxy.config.state import StateConfig
from proxy.config.telemetry import TelemetryConfig
from proxy.domain.errors import ConfigError
from proxy.domain.presets import PRESETS, PresetId

SCHEMA_VERSION = 1
DEFAULT_PORT = 4141
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_ID_RE = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
# Headers that carry credentials: keys belong in `key`, never in the config file.
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Model):
    """Where a secret comes from. Exactly one source is set."""

    env: str | None = Field(
        default=None,
        title="Environment variable",
        description="Read the secret from this environment variable (e.g. OPENAI_API_KEY).",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )
    keychain: str | None = Field(
        default=None,
        title="Keychain entry",
        description="Name of an entry in the OS keychain (service 'Switchboard').",
        min_length=1,
        max_length=128,
    )

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.keychain is None):
            raise ValueError('set exactly one of "env" or "keychain"')
        return self

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"keychain entry {self.keychain!r}"


class Timeouts(_Model):
    """Upstream timeouts in seconds; each bounds one phase of a call."""

    connect: float = Field(default=10.0, gt=0, le=600, description="Open the TCP/TLS connection.")
    first_token: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="From sending the request to the first response byte (reasoning models can be slow).",
    )
    idle: float = Field(default=60.0, gt=0, le=3600, description="Longest gap between two stream chunks.")
    total: float = Field(default=600.0, gt=0, le=86400, description="Whole non-streaming call.")
    stream_total: float = Field(default=1800.0, gt=0, le=86400, description="Whole streaming call.")


class DemoSettings(_Model):
    """Behaviour of the built-in demo provider."""

    pace_ms: float = Field(default=25.0, ge=0, le=5000, description="Delay between streamed chunks.")
    chunk_words: int = Field(default=1, ge=1, le=100, description="Words per streamed chunk.")


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host, e.g. https://api.example.com/v1")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password; keys go in `key`")
    if parts.query or parts.fragment:
        raise ValueError("must not contain a query string or fragment")
    host = parts.hostname
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and ip.is_link_local:
        raise ValueError(f"link-local address {host} is not allowed (cloud metadata endpoints live there)")
    is_loopback = host == "localhost" or (ip is not None and ip.is_loopback)
    if parts.scheme == "http" and not is_loopback:
        raise ValueError("plain http is only allowed for servers on this machine; use https")
    return url.rstrip("/")


class ProviderConfig(_Model):
    """One upstream provider account."""

    id: Annotated[str, Field(pattern=_ID_RE)] = Field(
        title="Name", description="Short unique name used in routes and in `provider/model` names (lowercase)."
    )
    preset: PresetId = Field(default="custom", description="Kind of provider; fills base URL and quirks.")
    base_url: str | None = Field(
        default=None,
        title="Base URL",
        description="API base URL ending in /v1 (or equivalent); defaults to the preset's.",
    )
    key: SecretRef | None = Field(
        default=None, title="API key", description="Where the API key comes from; never the key itself."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers sent upstream (no credentials: use `key`)."
    )
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Upstream timeouts.")
    models: list[str] = Field(
        default_factory=list,
        description="Model ids offered in /v1/models as provider/model; empty asks the upstream.",
    )
    enabled: bool = Field(default=True, description="Disabled providers are never called.")
    demo: DemoSettings | None = Field(default=None, description="Settings for the demo provider only.")
    api_version: str = Field(
        default="2024-10-21",
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$",
        description="Azure OpenAI only: the api-version query parameter.",
    )
    # -- corporate networks and TLS (issue 17) --
    proxy: str | None = Field(
        default=None,
        description="Forward proxy for this provider, always used: a URL such as http://proxy.corp:3128 or "
        'http://user@proxy.corp:3128 (the password goes in `proxy_password`), or "none" to go direct. Unset: '
        "HTTPS_PROXY/HTTP_PROXY/ALL_PROXY from the environment, honouring NO_PROXY, and never for providers "
        "on this machine or the local network.",
    )
    proxy_password: SecretRef | None = Field(
        default=None, description="Where the proxy's password comes from (never in the URL)."
    )
    ca_bundle: str | None = Field(
        default=None,
        min_length=1,
        description="A PEM file of CA certificates trusted for this provider besides the OS trust store "
        "(self-signed or company endpoints).",
    )

    @field_validator("proxy")
    @classmethod
    def _valid_proxy(cls, v: str | None) -> str | None:
        if v is None or v.strip().lower() == "none":
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError('must be "none" or a proxy URL such as http://proxy.corp:3128')
        if parts.password:
            raise ValueError("must not contain a password; set `proxy_password` (an env variable or keychain entry)")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("a proxy URL has no path, query or fragment: http://host:port")
        return v

    # -- end of corporate networks and TLS --
    trace_propagation: bool | None = Field(
        default=None,
        description="Send the W3C traceparent/tracestate of the request's attempt upstream while tracing is on "
        "(unset: on for local and custom providers, off for cloud providers).",
    )

    @field_validator("base_url")
    @classmethod
    def _valid_url(cls, v: str | None) -> str | None:
        return None if v is None else _check_base_url(v)

    @field_validator("headers")
    @classmethod
    def _no_credentials(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if name.lower() in _CREDENTIAL_HEADERS:
                raise ValueError(f"header {name!r} carries credentials; configure the provider `key` instead")
        return v

    @model_validator(mode="before")
    @classmethod
    def _gemini_openai_endpoint(cls, data: Any) -> Any:
        """``preset: gemini`` used to be Gemini's OpenAI-compatible endpoint; a config that names
        that endpoint as its ``base_url`` (``.../openai``) keeps it, as ``gemini-openai``."""
        if isinstance(data, dict) and data.get("preset") == "gemini":
            base = data.get("base_url")
            if isinstance(base, str) and base.rstrip("/").endswith("/openai"):
                return {**data, "preset": "gemini-openai"}
        return data

    @model_validator(mode="after")
    def _preset_rules(self) -> ProviderConfig:
        preset = PRESETS[self.preset]
        if preset.kind != "demo" and self.base_url is None and preset.base_url is None:
            raise ValueError(f"preset {self.preset!r} has no default base_url; set `base_url`")
        if preset.needs_key and self.key is None:
            hint = f' such as {{"env": "{preset.key_env}"}}' if preset.key_env else ""
            raise ValueError(f"preset {self.preset!r} needs an API key: set `key`{hint}")
        if self.demo is not None and preset.kind != "demo":
            raise ValueError("`demo` settings are only valid with preset 'demo'")
        return self

    @property
    def effective_base_url(self) -> str:
        return self.base_url or PRESETS[self.preset].base_url or ""


class RouteTarget(_Model):
    """One place a route can send a request."""

    provider: str = Field(title="Provider", description="Provider id.")
    model: str = Field(
        min_length=1, max_length=256, title="Upstream model", description="Model name as the upstream knows it."
    )
    weight: float = Field(
        default=1.0, ge=0, le=1_000_000, description="Share of traffic for the weighted strategy (0 = never picked)."
    )
    max_concurrent: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="At most this many requests at once to this target; more move on to the next target, "
        "or wait briefly (queue_timeout) when there is none.",
    )
    queue_timeout: float = Field(
        default=2.0, ge=0, le=600, description="Seconds a request waits for a free slot before a 429."
    )


Strategy = Literal["fallback", "weighted", "round-robin", "least-busy", "lowest-latency", "lowest-cost"]


class FallbackTriggers(_Model):
    """Which failures move a request on to the next target. A client's own mistakes (400, 404,
    422 ...) never do: they are returned as they are."""

    connection_errors: bool = Field(default=True, description="Refused, reset or unusable answers.")
    timeouts: bool = Field(default=True, description="Connect, first-token, idle or total timeout.")
    rate_limits: bool = Field(default=True, description="HTTP 429.")
    server_errors: bool = Field(default=True, description="HTTP 408, 409 and 5xx (529 overloaded included).")
    context_length: bool = Field(
        default=True, description="The prompt is too long for this model: try a target with a larger window."
    )
    auth_errors: bool = Field(default=True, description="HTTP 401/403: the key is failing (reported as such).")
    missing_key: bool = Field(default=True, description="The target's key cannot be resolved.")


class RetryPolicy(_Model):
    """Retrying the same target before moving on."""

    max_retries: int = Field(
        default=1, ge=0, le=10, description="Extra tries on the same target (connection errors, 408/409/429/5xx)."
    )
    backoff_base: float = Field(default=0.5, ge=0, le=60, description="First backoff, seconds (doubles each try).")
    backoff_max: float = Field(default=8.0, ge=0, le=600, description="Longest backoff, seconds (full jitter).")
    retry_after_cap: float = Field(
        default=20.0,
        ge=0,
        le=3600,
        description="Honour Retry-After / retry-after-ms up to this many seconds; longer waits move on at once.",
    )
    budget: float = Field(
        default=60.0, gt=0, le=3600, description="Total seconds for all attempts of one request (before streaming)."
    )


class CooldownPolicy(_Model):
    """Skipping a target that keeps failing (circuit breaker)."""

    failures: int = Field(default=3, ge=1, le=1_000_000, description="Consecutive failures that open the breaker.")
    seconds: float = Field(default=30.0, ge=0, le=86400, description="How long a failing target is skipped.")
    on_rate_limit: bool = Field(
        default=True, description="A 429 opens the breaker at once (for Retry-After, or `seconds`)."
    )


class Limits(_Model):
    """Request, token and money limits for one access key or one route (unset = unlimited)."""

    requests_per_minute: int | None = Field(default=None, ge=1, description="Requests in any 60 s window.")
    tokens_per_minute: int | None = Field(
        default=None, ge=1, description="Tokens (in + out) used in any 60 s window; checked before each request."
    )
    daily_usd: float | None = Field(default=None, gt=0, description="Spend per UTC day, in US dollars.")
    monthly_usd: float | None = Field(default=None, gt=0, description="Spend per UTC calendar month, in US dollars.")


class CacheConfig(_Model):
    """Exact-match response cache for a route (off by default)."""

    enabled: bool = Field(default=False, description="Answer identical requests from the cache.")
    ttl: float = Field(default=3600.0, gt=0, le=30 * 86400, description="Seconds an answer stays valid.")
    max_entries: int = Field(
        default=1000, ge=1, le=1_000_000, description="Entries kept for this route (least recently used go first)."
    )


class Variant(_Model):
    """One arm of an A/B split: its own targets, and its share of clients."""

    name: Annotated[str, Field(pattern=_ID_RE)] = Field(description="Variant name (shown in the log).")
    weight: float = Field(default=1.0, ge=0, le=1_000_000, description="Share of clients sent to this variant.")
    targets: list[RouteTarget] = Field(min_length=1, description="Where this variant's requests go.")


class RouteConfig(_Model):
    """A public model name (or a glob of names) that clients ask for, and where it goes."""

    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^\S+$",
        title="Route name",
        description="The model name clients send (e.g. 'fast'), or a glob such as 'claude-*haiku*'.",
    )
    targets: list[RouteTarget] = Field(
        default_factory=list, description="Where requests go (or use `variants` for an A/B split)."
    )
    variants: list[Variant] = Field(
        default_factory=list,
        description="A/B split: each client is assigned one variant by weight, stickily (see `sticky`).",
    )
    sticky: Literal["access-key", "user", "header"] = Field(
        default="access-key",
        description="What keeps a client on its variant: its access key, the request's `user` field, or a header.",
    )
    sticky_header: str = Field(default="x-session-id", description="The header used when `sticky` is 'header'.")
    strategy: Strategy = Field(default="fallback", description="How targets are ordered for each request.")
    triggers: FallbackTriggers = Field(
        default_factory=FallbackTriggers, description="What moves on to the next target."
    )
    retries: RetryPolicy = Field(default_factory=RetryPolicy, description="Retries on the same target.")
    cooldown: CooldownPolicy = Field(default_factory=CooldownPolicy, description="Circuit breaker per target.")
    cache: CacheConfig = Field(default_factory=CacheConfig, description="Response cache for this route.")
    prompt_caching: bool = Field(
        default=True,
        description="Mark prompt-cache breakpoints (tools, system prompt, conversation) on requests translated "
        "to Anthropic, so repeated prefixes are billed at its cache-read rate.",
    )
    hedge_after_ms: int | None = Field(
        default=None,
        ge=1,
        le=600_000,
        description="Hedged requests: if the first target has not answered (first token) within this many ms, "
        "start the second too and keep whichever answers first. Off when unset.",
    )
    limits: Limits = Field(default_factory=Limits, description="Limits and budgets for this route.")
    enabled: bool = Field(default=True, description="Disabled routes answer 404 and are not listed.")
    description: str = Field(default="", max_length=500, description="A note shown in the tray and UI.")

    @property
    def is_pattern(self) -> bool:
        return any(c in self.name for c in "*?[")

    @property
    def all_targets(self) -> list[RouteTarget]:
        return [*self.targets, *(t for v in self.variants for t in v.targets)]

    @model_validator(mode="after")
    def _targets_or_variants(self) -> RouteConfig:
        if bool(self.targets) == bool(self.variants):
            raise ValueError("set either `targets` or `variants` (an A/B split), not both or neither")
        names = [v.name for v in self.variants]
        if len(names) != len(set(names)):
            raise ValueError("variant names must be unique within a route")
        if self.variants and not any(v.weight > 0 for v in self.variants):
            raise ValueError("an A/B split needs a variant with weight > 0")
        return self


class ServerConfig(_Model):
    """The local HTTP server."""

    host: str = Field(default="127.0.0.1", description="Address to bind. Loopback only unless allowed below.")
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, title="Port", description="TCP port (0 picks a free one).")
    allow_non_loopback: bool = Field(
        default=False,
        description="I understand: allow binding a non-loopback address (access keys stay required).",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Extra Host header names accepted besides 127.0.0.1, localhost and [::1] (DNS-rebinding guard).",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the gateway (exact, e.g. https://chat.example). Empty = none.",
    )
    require_auth: bool = Field(
        default=True, description="Require a local access key (Bearer or x-api-key). Off = open localhost."
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024, description="Largest request body accepted."
    )
    drain_timeout: float = Field(
        default=10.0, ge=0, le=3600, description="On shutdown, seconds to let in-flight requests finish."
    )
    idle_timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Close a connection that has not sent a complete request head within this many seconds "
        "(slow-loris clients), or sits idle this long between requests. Applied at start.",
    )

    @field_validator("allowed_origins")
    @classmethod
    def _exact_origins(cls, v: list[str]) -> list[str]:
        for origin in v:
            parts = urlsplit(origin)
            if "*" in origin or origin == "null":
                raise ValueError(f"{origin!r}: wildcards and 'null' are not allowed; list exact origins")
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise ValueError(f"{origin!r}: an origin looks like https://host[:port] with no path")
        return [o.rstrip("/").lower() for o in v]

    @model_validator(mode="after")
    def _loopback_only(self) -> ServerConfig:
        if self.host not in LOOPBACK_NAMES and not self.allow_non_loopback:
            raise ValueError(f"host {self.host!r} is not a loopback address; set allow_non_loopback to bind it anyway")
        return self


class LoggingConfig(_Model):
    """The request log and privacy."""

    store_bodies: bool = Field(
        default=False, description="Store request and response bodies (keys redacted). Off by default."
    )
    retention_days: int = Field(default=30, ge=1, le=3650, description="Delete log rows older than this.")


class GatewayConfig(_Model):
    """Everything the gateway needs to run (one JSON file)."""

    schema_version: int = Field(default=SCHEMA_VERSION, description="Config format version.")
    server: ServerConfig = Field(
        default_factory=ServerConfig, description="The local HTTP server: address, port and security gates."
    )
    providers: list[ProviderConfig] = Field(default_factory=list, description="Upstream providers.")
    routes: list[RouteConfig] = Field(default_factory=list, description="Public model names and their targets.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Request log and privacy.")
    key_limits: dict[str, Limits] = Field(
        default_factory=dict, description="Limits and budgets per local access key name (e.g. 'default')."
    )
    default_route: str | None = Field(
        default=None, description="Route that serves model names no route or provider matches (off when unset)."
    )
    telemetry: TelemetryConfig = Field(
        default_factory=TelemetryConfig, description="OpenTelemetry export and Prometheus labels."
    )
    state: StateConfig = Field(
        default_factory=StateConfig, description="Team mode: shared state on Redis and PostgreSQL (off when unset)."
    )
    # -- editor support (issue 17): a `$schema` key, kept when the file is saved --
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True, validate_by_name=True)
    schema_uri: str | None = Field(
        default=None,
        alias="$schema",
        description="Where editors find this file's JSON Schema (`switchboard config schema --write` puts it there).",
    )

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema_version {v}; this Switchboard reads version {SCHEMA_VERSION}")
        return v

    @model_validator(mode="after")
    def _references(self) -> GatewayConfig:
        seen: set[str] = set()
        for i, p in enumerate(self.providers):
            if p.id in seen:
                raise ValueError(f"providers[{i}].id: duplicate provider id {p.id!r}")
            seen.add(p.id)
        names: set[str] = set()
        for i, r in enumerate(self.routes):
            if r.name in names:
                raise ValueError(f"routes[{i}].name: duplicate route name {r.name!r}")
            names.add(r.name)
            for j, t in enumerate(r.targets):
                if t.provider not in seen:
                    raise ValueError(f"routes[{i}].targets[{j}].provider: unknown provider {t.provider!r}")
            for k, v in enumerate(r.variants):
                for j, t in enumerate(v.targets):
                    if t.provider not in seen:
                        raise ValueError(
                            f"routes[{i}].variants[{k}].targets[{j}].provider: unknown provider {t.provider!r}"
                        )
            if r.strategy == "weighted" and not any(t.weight > 0 for t in r.all_targets):
                raise ValueError(f"routes[{i}].targets: the weighted strategy needs a target with weight > 0")
        if self.default_route is not None and self.default_route not in names:
            raise ValueError(f"default_route: no route named {self.default_route!r}")
        return self

    def provider(self, provider_id: str) -> ProviderConfig | None:
        return next((p for p in self.providers if p.id == provider_id), None)


def default_config(discovered: tuple[str, ...] = ()) -> GatewayConfig:
    """The zero-config setup: the demo provider, plus local servers that answered."""
    providers: list[dict[str, Any]] = [{"id": "demo", "preset": "demo"}]
    providers += [{"id": preset, "preset": preset} for preset in discovered]
    routes = [
        {"name": "demo", "targets": [{"provider": "demo", "model": "echo"}], "description": "Offline echo model"},
        {"name": "demo-embed", "targets": [{"provider": "demo", "model": "embed"}]},
    ]
    return GatewayConfig.model_validate({"providers": providers, "routes": routes})


def format_loc(loc: tuple[int | str, ...]) -> str:
    """``('providers', 2, 'timeouts', 'connect')`` -> ``providers[2].timeouts.connect``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not re.match(r"^[A-Za-z_][\w-]*$", part):
            out += f"[{json.dumps(part)}]"  # dict keys such as header names
        else:
            out += f".{part}" if out else part
    return out


def validation_problems(exc: ValidationError) -> list[str]:
    """One readable line per pydantic error: ``path: problem``."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = format_loc(tuple(p for p in err["loc"] if not str(p).startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        # Cross-field checks put the exact path at the start of their message already.
        lines.append(f"{loc}: {msg}" if loc and not re.match(r"^[\w.\[\]\"]+: ", msg) else msg)
    return lines


def parse_config(text: str | bytes, source: str = "<config>") -> GatewayConfig:
    """Parse and validate config JSON.

    Raises:
        ConfigError: with one line per problem, each naming ``source``, the field path and the issue.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, [f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [f"byte {exc.start}: the file is not valid UTF-8"]) from None
    if not isinstance(data, dict):
        raise ConfigError(source, ["the top level must be a JSON object"])
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, validation_problems(exc)) from None


def load_config(path: Path) -> GatewayConfig:
    """Read and validate a config file (see :func:`parse_config`)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    return parse_config(raw, str(path))


def config_json_schema() -> dict[str, Any]:
    """JSON Schema for editors and ``switchboard config schema``."""
    schema = GatewayConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Switchboard gateway config"
    return schema

"""Come from LiteLLM or claude-code-router: their config files as a Switchboard config.

:func:`from_litellm` reads LiteLLM proxy's ``config.yaml`` (``model_list`` with ``litellm_params``,
``router_settings``, ``litellm_settings``, ``general_settings``); :func:`from_claude_code_router`
reads claude-code-router's ``config.json`` (``Providers``, ``Router``, ``PROXY_URL``...). Both give
an :class:`Imported`: the config (validated), a note for every setting that has no equivalent or
was approximated, and the key values written in the file itself, which never go into the config:
they become environment-variable references, or (``keychain=True``) keychain entries the caller
stores. Keys the file already took from the environment (``os.environ/NAME``, ``$NAME``,
``${NAME}``) stay environment references.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from proxy.config.schema import GatewayConfig, ProviderConfig, validation_problems
from proxy.domain.errors import ConfigError
from proxy.domain.presets import PRESETS

# LiteLLM's provider prefix (litellm_params.model "PREFIX/MODEL") -> our preset
LITELLM_PRESETS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "openrouter": "openrouter",
    "groq": "groq",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "xai": "xai",
    "together_ai": "together",
    "huggingface": "huggingface",
    "gemini": "gemini",
    "azure": "azure",
    "ollama": "ollama",
    "ollama_chat": "ollama",
    "lm_studio": "lmstudio",
    "hosted_vllm": "vllm",
    "vllm": "vllm",
}
LITELLM_STRATEGIES = {
    "simple-shuffle": "weighted",
    "least-busy": "least-busy",
    "latency-based-routing": "lowest-latency",
    "cost-based-routing": "lowest-cost",
}
# claude-code-router: the API host -> our preset
CCR_HOSTS = {
    "openrouter.ai": "openrouter",
    "api.deepseek.com": "deepseek",
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "api.groq.com": "groq",
    "api.mistral.ai": "mistral",
    "api.x.ai": "xai",
    "api.together.xyz": "together",
    "generativelanguage.googleapis.com": "gemini",
}
_ENV_REF = re.compile(
    r"^(?:os\.environ/([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*))$"
)


@dataclass
class Imported:
    config: GatewayConfig
    notes: list[str] = field(default_factory=list)
    """Every setting with no equivalent, or only an approximate one, for people."""
    keychain: dict[str, str] = field(default_factory=dict)
    """Keychain entry name -> key value, to store before the config is used (``keychain=True``)."""


class _Builder:
    def __init__(self, keychain: bool) -> None:
        self.use_keychain = keychain
        self.providers: list[dict[str, Any]] = []
        self.routes: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.secrets: dict[str, str] = {}
        self._by_identity: dict[tuple[str | None, ...], str] = {}

    def note(self, text: str) -> None:
        self.notes.append(text)

    def key_ref(self, raw: Any, provider_id: str, preset: str, where: str) -> dict[str, str] | None:
        if raw in (None, ""):
            return None
        text = str(raw).strip()
        match = _ENV_REF.match(text)
        if match:
            return {"env": next(g for g in match.groups() if g)}
        if not PRESETS[preset].needs_key and PRESETS[preset].local:
            return None  # a local server's placeholder key ("ollama")
        if self.use_keychain:
            entry, n = provider_id, 2
            while self.secrets.get(entry, text) != text:
                entry, n = f"{provider_id}-{n}", n + 1
            self.secrets[entry] = text
            return {"keychain": entry}
        name = PRESETS[preset].key_env or f"{re.sub(r'[^A-Z0-9]', '_', provider_id.upper())}_API_KEY"
        self.note(
            f"{where}: the key was written in the file itself and was not copied; set {name} (or import again "
            "with --keychain to move it into the OS keychain)"
        )
        return {"env": name}

    def provider(self, preset: str, base_url: str | None, key: dict[str, str] | None, name: str, **extra: Any) -> str:
        """The id of a provider with these settings (made once)."""
        identity = (preset, base_url, json.dumps(key, sort_keys=True), json.dumps(extra, sort_keys=True))
        if identity in self._by_identity:
            return self._by_identity[identity]
        pid = _provider_id(name, {p["id"] for p in self.providers})
        entry: dict[str, Any] = {"id": pid, "preset": preset, **extra}
        if base_url:
            entry["base_url"] = base_url
        if key:
            entry["key"] = key
        self.providers.append(entry)
        self._by_identity[identity] = pid
        return pid

    def finish(self, top: dict[str, Any] | None = None) -> Imported:
        usable, dropped = [], set()
        for p in self.providers:
            try:
                ProviderConfig.model_validate(p)
            except ValidationError as exc:
                problems = "; ".join(validation_problems(exc))
                self.note(f"provider {p['id']!r} ({p.get('base_url', p['preset'])}) left out: {problems}")
                dropped.add(p["id"])
                continue
            usable.append(p)
        routes = []
        for r in self.routes:
            r["targets"] = [t for t in r["targets"] if t["provider"] not in dropped]
            if r["targets"]:
                routes.append(r)
            else:
                self.note(f"route {r['name']!r} left out: none of its providers could be imported")
        data = {"providers": usable, "routes": routes, **(top or {})}
        if data.get("default_route") and data["default_route"] not in {r["name"] for r in routes}:
            data.pop("default_route")
        try:
            config = GatewayConfig.model_validate(data)
        except ValidationError as exc:
            raise ConfigError("imported config", validation_problems(exc)) from None
        return Imported(config, self.notes, self.secrets)


def _provider_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-._")[:60] or "provider"
    if not base[0].isalnum():
        base = f"p{base}"
    pid, n = base, 2
    while pid in taken:
        pid, n = f"{base}-{n}", n + 1
    return pid


def _with_v1(url: str) -> str:
    url = url.rstrip("/")
    return url if re.search(r"/v\d+(beta)?$", url) else f"{url}/v1"


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(where, ["expected a mapping"])
    return value


# -- LiteLLM -----------------------------------------------------------------------------------------


def from_litellm(data: Any, *, keychain: bool = False) -> Imported:
    """LiteLLM proxy's ``config.yaml`` (already parsed) as a Switchboard config."""
    top = _mapping(data, "config.yaml")
    b = _Builder(keychain)
    router = _mapping(top.get("router_settings"), "router_settings")
    settings = _mapping(top.get("litellm_settings"), "litellm_settings")
    groups: dict[str, list[dict[str, Any]]] = {}
    for i, entry in enumerate(top.get("model_list") or []):
        where = f"model_list[{i}]"
        if not isinstance(entry, dict) or not entry.get("model_name"):
            b.note(f"{where}: no model_name; left out")
            continue
        params = _mapping(entry.get("litellm_params"), f"{where}.litellm_params")
        model = str(params.get("model") or "")
        prefix, _, rest = model.partition("/")
        if not rest:
            prefix, rest = "openai", model
        preset = LITELLM_PRESETS.get(prefix)
        if preset is None or not rest:
            b.note(f"{where} ({entry['model_name']}): no Switchboard preset for LiteLLM provider {prefix!r}; left out")
            continue
        base = params.get("api_base")
        if base and preset in ("ollama", "lmstudio", "vllm", "openai"):
            base = _with_v1(str(base))
        elif base:
            base = str(base).rstrip("/")
        extra: dict[str, Any] = {}
        if preset == "azure" and params.get("api_version"):
            extra["api_version"] = str(params["api_version"])
        if params.get("timeout") is not None:
            extra["timeouts"] = {"total": float(params["timeout"])}
        name = prefix if preset != "custom" else entry["model_name"]
        key = b.key_ref(params.get("api_key"), _provider_id(name, set()), preset, f"{where}.litellm_params.api_key")
        pid = b.provider(preset, base, key, name, **extra)
        target: dict[str, Any] = {"provider": pid, "model": rest}
        if params.get("weight") is not None:
            target["weight"] = float(params["weight"])
        groups.setdefault(str(entry["model_name"]), []).append(target)
        for option in sorted(set(params) - {"model", "api_key", "api_base", "api_version", "timeout", "weight"}):
            b.note(f"{where}.litellm_params.{option}: no per-deployment equivalent; not imported")
        for option in ("rpm", "tpm", "model_info"):
            if entry.get(option) is not None:
                b.note(f"{where}.{option}: no per-deployment equivalent; not imported")
    strategy_name = str(router.get("routing_strategy") or "simple-shuffle")
    strategy = LITELLM_STRATEGIES.get(strategy_name)
    if strategy is None:
        b.note(f"router_settings.routing_strategy {strategy_name!r}: no equivalent; routes use 'weighted'")
        strategy = "weighted"
    policy: dict[str, Any] = {}
    retries = router.get("num_retries", settings.get("num_retries"))
    if retries is not None:
        policy["retries"] = {"max_retries": min(int(retries), 10)}
    cooldown = {k: v for k, v in (("failures", router.get("allowed_fails")), ("seconds", router.get("cooldown_time")))}
    if any(v is not None for v in cooldown.values()):
        policy["cooldown"] = {k: v for k, v in cooldown.items() if v is not None}
    fallbacks: dict[str, list[str]] = {}
    for section, values in (("router_settings", router), ("litellm_settings", settings)):
        for kind in ("fallbacks", "context_window_fallbacks"):
            for item in values.get(kind) or []:
                for src, dst in item.items() if isinstance(item, dict) else []:
                    fallbacks.setdefault(str(src), []).extend(str(d) for d in (dst or []))
        for kind in ("content_policy_fallbacks", "default_fallbacks"):
            if values.get(kind):
                b.note(f"{section}.{kind}: no equivalent; not imported")
    for name, targets in groups.items():
        route: dict[str, Any] = {"name": name, "targets": list(targets), **policy}
        if len(targets) > 1:
            route["strategy"] = strategy
        for other in fallbacks.get(name, []):
            if other not in groups:
                b.note(f"fallback {name} -> {other}: no model group {other!r}; not imported")
                continue
            route["targets"] += [t for t in groups[other] if t not in route["targets"]]
            if len(targets) > 1:
                b.note(
                    f"fallback {name} -> {other}: appended to the route's targets, which share the load "
                    f"({strategy}) instead of being tried only after the others"
                )
        b.routes.append(route)
    known_router = {
        "routing_strategy",
        "num_retries",
        "allowed_fails",
        "cooldown_time",
        "fallbacks",
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "default_fallbacks",
    }
    for option in sorted(set(router) - known_router):
        b.note(f"router_settings.{option}: no equivalent; not imported")
    known_settings = {
        "num_retries",
        "fallbacks",
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "default_fallbacks",
    }
    for option in sorted(set(settings) - known_settings):
        b.note(f"litellm_settings.{option}: no equivalent; not imported")
    for option in sorted(_mapping(top.get("general_settings"), "general_settings")):
        hint = (
            " (clients use Switchboard access keys: `switchboard access-key new NAME`)"
            if option == "master_key"
            else ""
        )
        b.note(f"general_settings.{option}: no equivalent; not imported{hint}")
    for option in sorted(_mapping(top.get("environment_variables"), "environment_variables")):
        b.note(f"environment_variables.{option}: set it in the environment instead; not imported")
    for option in sorted(
        set(top) - {"model_list", "router_settings", "litellm_settings", "general_settings", "environment_variables"}
    ):
        b.note(f"{option}: unknown section; not imported")
    return b.finish()


# -- claude-code-router ------------------------------------------------------------------------------


def _ccr_provider(url: str) -> tuple[str, str | None, str | None]:
    """(preset, base URL or None for the preset's own, a note) for a provider's api_base_url."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/")
    preset = CCR_HOSTS.get(host)
    if host in ("localhost", "127.0.0.1", "::1") and parts.port == 11434:
        preset = "ollama"
    if preset == "gemini" and "/openai" not in path:
        return "gemini", None, "Gemini's native API: imported as its OpenAI-compatible endpoint"
    if path.endswith("/messages"):
        base = f"{parts.scheme}://{parts.netloc}{path.removesuffix('/messages')}"
        return preset or "anthropic", base, None
    for suffix in ("/chat/completions", "/completions"):
        if path.endswith(suffix):
            path = path.removesuffix(suffix)
            break
    return preset or "custom", f"{parts.scheme}://{parts.netloc}{path}", None


def from_claude_code_router(data: Any, *, keychain: bool = False) -> Imported:
    """claude-code-router's ``config.json`` (already parsed) as a Switchboard config."""
    top = _mapping(data, "config.json")
    b = _Builder(keychain)
    proxy = top.get("PROXY_URL")
    timeout_ms = top.get("API_TIMEOUT_MS")
    ids: dict[str, str] = {}
    for i, entry in enumerate(top.get("Providers") or top.get("providers") or []):
        where = f"Providers[{i}]"
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("api_base_url"):
            b.note(f"{where}: needs a name and an api_base_url; left out")
            continue
        preset, base, remark = _ccr_provider(str(entry["api_base_url"]))
        if remark:
            b.note(f"{where} ({entry['name']}): {remark}")
        extra: dict[str, Any] = {"models": [str(m) for m in entry.get("models") or []]}
        local = PRESETS[preset].local or (base is not None and urlsplit(base).hostname in ("localhost", "127.0.0.1"))
        if proxy and not local:
            extra["proxy"] = str(proxy)
        if timeout_ms:
            extra["timeouts"] = {"total": float(timeout_ms) / 1000}
        name = str(entry["name"])
        key = b.key_ref(entry.get("api_key"), _provider_id(name, set()), preset, f"{where}.api_key")
        if preset == "custom" and base and not local and key is None:
            b.note(f"{where} ({name}): no api_key")
        pid = b.provider(preset, base, key, name, **{k: v for k, v in extra.items() if k != "models"})
        next(p for p in b.providers if p["id"] == pid)["models"] = extra["models"]
        ids[name] = pid
        if entry.get("transformer"):
            b.note(f"{where}.transformer: no equivalent (Switchboard's presets carry each provider's quirks)")
    router = _mapping(top.get("Router"), "Router")
    scenario = {
        "default": "every model name no other route matches (default_route)",
        "background": "Claude Code's small-model requests (claude-*haiku*)",
        "think": None,
        "longContext": None,
        "webSearch": None,
    }
    routes: dict[str, dict[str, Any]] = {}
    for name, value in router.items():
        if name not in scenario:
            continue
        provider_name, _, model = str(value).partition(",")
        if provider_name not in ids or not model:
            b.note(f"Router.{name} {value!r}: no provider {provider_name!r} with a model; not imported")
            continue
        routes[name] = {"name": name, "targets": [{"provider": ids[provider_name], "model": model}]}
        if scenario[name] is None:
            b.note(f"Router.{name}: no automatic switch; the route {name!r} exists (ask for the model {name!r})")
    for route in routes.values():
        b.routes.append(route)
    if "background" in routes:
        b.routes.append(
            {
                "name": "claude-*haiku*",
                "targets": routes["background"]["targets"],
                "description": "claude-code-router's background route",
            }
        )
    for option in sorted(set(router) - set(scenario)):
        b.note(f"Router.{option}: no equivalent; not imported")
    for option in sorted(set(top) - {"Providers", "providers", "Router", "PROXY_URL", "API_TIMEOUT_MS"}):
        hint = " (clients use Switchboard access keys)" if option == "APIKEY" else ""
        b.note(f"{option}: no equivalent; not imported{hint}")
    return b.finish({"default_route": "default"} if "default" in routes else None)

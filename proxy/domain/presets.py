"""Provider presets: base URL, auth style and known quirks of each upstream.

A preset fills in what a person should not have to look up. ``custom`` has no defaults and
needs a ``base_url``; ``demo`` is the built-in offline provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AdapterKind = Literal["openai", "anthropic", "gemini", "demo"]


@dataclass(frozen=True)
class Preset:
    """What Switchboard knows about one kind of upstream."""

    id: str
    label: str
    kind: AdapterKind
    base_url: str | None
    needs_key: bool
    key_env: str | None = None
    """The environment variable people usually keep this provider's key in (for hints)."""
    stream_usage_option: bool = True
    """Accepts ``stream_options.include_usage``; otherwise usage arrives unasked (or never)."""
    local: bool = False
    """A server on this machine (plain http allowed, no key needed)."""
    clean_tool_schemas: bool = False
    """Strip JSON Schema keywords the upstream rejects from tool parameters (Gemini)."""
    azure: bool = False
    """Azure OpenAI: ``api-key`` header, the deployment in the path, ``api-version`` in the query."""
    responses_api: bool = False
    """Serves OpenAI's Responses API (``/responses``): Responses requests pass through untranslated."""


PRESETS: dict[str, Preset] = {
    p.id: p
    for p in (
        Preset("demo", "Built-in demo (offline)", "demo", None, needs_key=False, local=True),
        Preset("openai", "OpenAI", "openai", "https://api.openai.com/v1", True, "OPENAI_API_KEY", responses_api=True),
        # Also fits Anthropic-compatible endpoints (set base_url): the Messages API with x-api-key.
        Preset("anthropic", "Anthropic", "anthropic", "https://api.anthropic.com/v1", True, "ANTHROPIC_API_KEY"),
        Preset("openrouter", "OpenRouter", "openai", "https://openrouter.ai/api/v1", True, "OPENROUTER_API_KEY"),
        Preset("groq", "Groq", "openai", "https://api.groq.com/openai/v1", True, "GROQ_API_KEY"),
        # Mistral rejects unknown request fields and reports usage in its last chunk unasked.
        Preset(
            "mistral",
            "Mistral",
            "openai",
            "https://api.mistral.ai/v1",
            True,
            "MISTRAL_API_KEY",
            stream_usage_option=False,
        ),
        Preset("deepseek", "DeepSeek", "openai", "https://api.deepseek.com/v1", True, "DEEPSEEK_API_KEY"),
        Preset("xai", "xAI", "openai", "https://api.x.ai/v1", True, "XAI_API_KEY"),
        Preset("together", "Together AI", "openai", "https://api.together.xyz/v1", True, "TOGETHER_API_KEY"),
        Preset("huggingface", "Hugging Face router", "openai", "https://router.huggingface.co/v1", True, "HF_TOKEN"),
        # Gemini's own API (x-goog-api-key); a config naming the OpenAI-compatible endpoint as its
        # base_url is read as gemini-openai (ProviderConfig's _gemini_openai_endpoint).
        Preset(
            "gemini",
            "Google Gemini",
            "gemini",
            "https://generativelanguage.googleapis.com/v1beta",
            True,
            "GEMINI_API_KEY",
            clean_tool_schemas=True,
        ),
        Preset(
            "gemini-openai",
            "Google Gemini (OpenAI-compatible endpoint)",
            "openai",
            "https://generativelanguage.googleapis.com/v1beta/openai",
            True,
            "GEMINI_API_KEY",
            clean_tool_schemas=True,
        ),
        # base_url is the resource endpoint, e.g. https://NAME.openai.azure.com; route targets name deployments
        Preset("azure", "Azure OpenAI", "openai", None, True, "AZURE_OPENAI_API_KEY", azure=True),
        Preset("ollama", "Ollama (local)", "openai", "http://127.0.0.1:11434/v1", False, local=True),
        Preset("lmstudio", "LM Studio (local)", "openai", "http://127.0.0.1:1234/v1", False, local=True),
        Preset("vllm", "vLLM (local)", "openai", "http://127.0.0.1:8000/v1", False, local=True),
        Preset("custom", "Custom OpenAI-compatible server", "openai", None, needs_key=False),
    )
}

PresetId = Literal[
    "demo",
    "openai",
    "anthropic",
    "openrouter",
    "groq",
    "mistral",
    "deepseek",
    "xai",
    "together",
    "huggingface",
    "gemini",
    "gemini-openai",
    "azure",
    "ollama",
    "lmstudio",
    "vllm",
    "custom",
]

# -- legacy text completions (issue 17) --
NO_TEXT_COMPLETIONS: frozenset[str] = frozenset({"demo", "anthropic", "groq", "mistral", "gemini", "huggingface"})
"""Presets whose API has no ``/completions`` (OpenAI's legacy text completions): a request for it is
refused with a 400 naming the provider, and the route moves on."""

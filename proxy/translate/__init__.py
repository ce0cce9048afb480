"""Translations between the APIs clients speak and the APIs upstreams speak.

Pure conversions, no I/O, between the canonical chat form (OpenAI Chat Completions) and:

- **Anthropic Messages**, both directions: the Anthropic adapter turns chat into Messages, so an
  OpenAI-style client can use a Claude model; the ``/v1/messages`` surface turns Messages into
  chat, so Claude Code can use any OpenAI-compatible model. ``anthropic_request`` (chat ->
  Messages requests), ``anthropic_to_chat`` (Messages -> chat requests), ``anthropic_answer``
  (non-stream answers, and the stop reasons, usage and ids the streams map the same way),
  ``anthropic_stream`` (stream translators), ``anthropic_errors`` (error types),
  ``anthropic_structured`` (``response_format`` that holds: native structured outputs or a forced
  tool; ``output_format`` the other way) and ``anthropic_cache`` (prompt-cache breakpoints).
- **OpenAI Responses**, one direction: the ``/v1/responses`` surface onto upstreams that speak
  only Chat Completions. ``responses_request``, ``responses_answer``, ``responses_stream``, and
  ``responses_common`` (what all three read from a Responses request: tools, ``text.format``).

``common`` holds what every translation shares: :class:`~proxy.translate.common.TranslationError`
and the SSE framing.
"""

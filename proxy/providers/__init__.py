"""Upstream adapters: each one translates the OpenAI shape to and from one upstream."""

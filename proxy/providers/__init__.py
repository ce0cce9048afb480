"""Upstream adapters: one dialect per upstream wire format, on one transport per provider."""

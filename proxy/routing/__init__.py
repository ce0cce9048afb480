"""Turning a requested model name into an ordered list of upstream attempts."""

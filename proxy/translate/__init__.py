"""Translations between the APIs clients speak and the APIs upstreams speak."""

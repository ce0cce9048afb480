"""Exact-match response cache: keys, storage, and turning answers into streams and back."""

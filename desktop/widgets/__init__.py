"""Reusable widgets for the desktop pages."""

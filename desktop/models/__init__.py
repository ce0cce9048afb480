"""Qt item models of the desktop app (no widgets here)."""

"""Desktop tests run Qt offscreen with real widgets (pytest-qt)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

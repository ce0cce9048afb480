"""What an edit of a route changed, in one line for the config history (no Qt)."""

from __future__ import annotations

from typing import Any


def target_label(target: dict[str, Any]) -> str:
    return f"{target['provider']} / {target['model']}"


def describe_change(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """One line for the config history saying what an edit of a route changed."""
    name = new["name"]
    if old is None:
        return f"add route {name}"
    parts = []
    if old["name"] != name:
        parts.append(f"renamed from {old['name']}")
    old_t, new_t = old.get("targets") or [], new.get("targets") or []
    if [target_label(t) for t in old_t] != [target_label(t) for t in new_t]:
        if sorted(map(target_label, old_t)) == sorted(map(target_label, new_t)):
            parts.append("fallback order " + " → ".join(target_label(t) for t in new_t))
        else:
            parts.append("targets " + ", ".join(target_label(t) for t in new_t))
    elif [t.get("weight") for t in old_t] != [t.get("weight") for t in new_t]:
        parts.append("weights " + ", ".join(f"{t['model']} {t.get('weight', 1):g}" for t in new_t))
    if old.get("variants") != new.get("variants"):
        parts.append("A/B split " + ", ".join(f"{v['name']} {v.get('weight', 1):g}" for v in new.get("variants") or []))
    for key in ("strategy", "enabled", "description"):
        if old.get(key) != new.get(key):
            parts.append(f"{key} {new.get(key)}")
    for key in ("triggers", "retries", "cooldown", "cache", "limits", "hedge_after_ms"):
        if old.get(key) != new.get(key):
            parts.append(key.replace("_", " "))
    return f"route {name}: " + ("; ".join(parts) or "no change")

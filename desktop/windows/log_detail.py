"""The log page's detail pane: one request, every attempt, its bodies, its live text.

Everything shown is plain text (request data is never rendered as rich text). Bodies are
pretty-printed: JSON indented; a captured stream shows the answer's text first, then its events.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from desktop.widgets.guarded import TabWidget
from desktop.windows.status import plain_label
from proxy.api import IN_PROGRESS, RequestRecord

SHOWN_CHARS = 400_000
"""Longer bodies are cut here in the pane (the whole body stays in the database)."""
NO_CAPTURE = (
    "Bodies are not captured. Turn on “Keep request and response bodies in the log” in Settings to see them "
    "for the next requests (keys are redacted)."
)


def pretty(body: str | None) -> str:
    """A body for people: JSON indented, an event stream as its text and then its events."""
    if body is None:
        return ""
    text = body
    try:
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        if body.lstrip().startswith(("data:", "event:")):
            answer = streamed_text(body)
            text = f"— streamed text —\n{answer}\n\n— events —\n{body}" if answer else body
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + f"\n… ({len(text) - SHOWN_CHARS:,} more characters not shown)"
    return text


def streamed_text(body: str) -> str:
    """The answer text of a captured Chat Completions, Anthropic or Responses event stream."""
    parts: list[str] = []
    for line in body.splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:].strip())
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        for choice in event.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                parts.append(delta["content"])
        delta = event.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("text"), str):  # Anthropic content_block_delta
            parts.append(delta["text"])
        elif event.get("type") == "response.output_text.delta" and isinstance(delta, str):
            parts.append(delta)
    return "".join(parts)


def attempts(record: RequestRecord) -> list[dict[str, Any]]:
    """The record's attempts (``attempt_log``), or ``[]``."""
    if not record.attempt_log:
        return []
    try:
        entries = json.loads(record.attempt_log)
    except ValueError:
        return []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def overview(r: RequestRecord) -> str:
    def ms(v: float | None) -> str:
        return f"{v:,.1f} ms" if v is not None else "—"

    lines = [
        ("Request id", r.id),
        ("Started", datetime.fromtimestamp(r.started_at).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]),
        ("Status", "running" if r.status == IN_PROGRESS else f"{r.status} (HTTP {r.http_status})"),
        ("Error", r.error or "—"),
        ("Client", r.client or "—"),
        ("User agent", r.user_agent or "—"),
        ("API", r.surface + (" (stream)" if r.stream else "")),
        ("Model requested", r.requested_model or "—"),
        ("Route", r.route or "—"),
        ("A/B variant", r.variant or "—"),
        ("Served by", f"{r.provider}/{r.upstream_model}" if r.provider else "—"),
        ("Attempts", str(r.attempts)),
        ("Time to first byte", ms(r.ttfb_ms)),
        ("Total time", ms(r.latency_ms)),
        ("Tokens in / out", f"{r.tokens_in if r.tokens_in is not None else '—'} / {r.tokens_out or '—'}"),
        ("Cached / cache-written tokens", f"{r.tokens_cached or 0} / {r.tokens_cache_write or 0}"),
        ("Cost", "—" if r.cost is None else f"${r.cost:.6f}"),
        ("Cache", r.cache or "—"),
    ]
    if r.cost_saved:
        lines.append(("Saved by the cache", f"${r.cost_saved:.6f}"))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines)


def _ms(value: object) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def _text_view() -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setReadOnly(True)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    return view


class RequestDetail(QWidget):
    """Shows one request: :meth:`show_record` (from the table), :meth:`show_full` (with bodies, once
    read), :meth:`append_live` (streamed text of a running request)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record: RequestRecord | None = None
        self.title = plain_label("Select a request to see its attempts and bodies.")
        self.tabs = TabWidget()
        self.attempts = QTreeWidget()
        self.attempts.setHeaderLabels(["#", "Target", "HTTP", "Time", "Error"])
        self.attempts.setRootIsDecorated(True)
        self.attempts.setUniformRowHeights(True)
        for column, width in enumerate((40, 220, 60, 90)):
            self.attempts.setColumnWidth(column, width)
        self.overview = _text_view()
        self.request = _text_view()
        self.response = _text_view()
        self.tabs.addTab(self.attempts, "Attempts")
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.request, "Request")
        self.tabs.addTab(self.response, "Response")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.tabs, 1)
        self.tabs.setEnabled(False)

    def show_record(self, record: RequestRecord | None, live_text: str = "") -> None:
        """Show a row as the table has it (bodies follow with :meth:`show_full`)."""
        self.record = record
        self.tabs.setEnabled(record is not None)
        if record is None:
            self.title.setText("Select a request to see its attempts and bodies.")
            for view in (self.overview, self.request, self.response):
                view.clear()
            self.attempts.clear()
            return
        served = f"{record.provider}/{record.upstream_model}" if record.provider else "no provider"
        state = "running…" if record.status == IN_PROGRESS else record.status
        total = f", {record.latency_ms:,.0f} ms" if record.latency_ms is not None else ""
        self.title.setText(f"{record.requested_model or record.surface} → {served}: {state}{total}")
        self.overview.setPlainText(overview(record))
        self._fill_attempts(record)
        if record.status == IN_PROGRESS:
            self.request.setPlainText("")
            self.response.setPlainText(live_text)
        else:
            self.request.setPlainText("Reading…")
            self.response.setPlainText("Reading…")

    def show_full(self, record: RequestRecord | None) -> None:
        """The full row of the shown request (``None``: not in the database yet)."""
        if record is None or self.record is None or record.id != self.record.id:
            if self.record is not None and self.record.status != IN_PROGRESS:
                self.request.setPlainText("This request is not in the log database (yet).")
                self.response.setPlainText("")
            return
        if record.status != IN_PROGRESS:
            self.record = record
            self.overview.setPlainText(overview(record))
            self._fill_attempts(record)
        if record.request_body is None and record.response_body is None:
            if record.status != IN_PROGRESS:
                self.request.setPlainText(NO_CAPTURE)
                self.response.setPlainText(NO_CAPTURE)
            return
        self.request.setPlainText(pretty(record.request_body))
        if record.status != IN_PROGRESS:
            self.response.setPlainText(pretty(record.response_body))

    def append_live(self, text: str) -> None:
        """More streamed text of the shown (running) request."""
        bar = self.response.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        cursor = self.response.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(text)
        if at_end:
            bar.setValue(bar.maximum())

    def _fill_attempts(self, record: RequestRecord) -> None:
        self.attempts.clear()
        for n, entry in enumerate(attempts(record), start=1):
            status = entry.get("status")
            ms = entry.get("ms")
            item = QTreeWidgetItem(
                [
                    str(n),
                    str(entry.get("target", "?")),
                    str(status) if status else "—",
                    _ms(ms),
                    str(entry.get("error") or ("ok" if status and int(status) < 400 else "—")),
                ]
            )
            item.setToolTip(4, "")  # errors are plain text in the cell; no rich tooltip
            for direction in ("request_headers", "response_headers"):
                headers = entry.get(direction)
                if isinstance(headers, dict) and headers:
                    group = QTreeWidgetItem(["", direction.replace("_", " ").capitalize()])
                    for name, value in headers.items():
                        group.addChild(QTreeWidgetItem(["", str(name), "", "", str(value)]))
                    item.addChild(group)
            self.attempts.addTopLevelItem(item)
        if not self.attempts.topLevelItemCount():
            note = "running…" if record.status == IN_PROGRESS else "no upstream attempt (answered by Switchboard)"
            self.attempts.addTopLevelItem(QTreeWidgetItem(["", note]))

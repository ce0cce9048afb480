"""Playground: one prompt to several routes or models at once, answers streaming side by side.

Send goes through :meth:`desktop.services.playground.PlaygroundService.send`: streamed Chat Completions to the
gateway's own endpoint, on a worker thread, so every answer is routed, logged and priced like any
client's. Its events arrive as queued signals; text is gathered per column and written to the
widgets at most every :data:`FLUSH_MS`, so a fast stream never floods the GUI thread. Cost comes
from the request's log row (``request_logged``, matched by the ``x-request-id`` the gateway sent).
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.services import GatewayBridge
from desktop.services.playground_run import ColumnEvent
from desktop.widgets.cards import Card, scaled_label
from desktop.widgets.chart import series_color
from desktop.widgets.formats import count, duration, money
from proxy.api import RequestRecord

FLUSH_MS = 40
"""How often streamed text is written to the columns (at most)."""
LOGGED_KEPT = 200
"""Log rows remembered by request id, in case one arrives before its column knows its id."""


class ResultColumn(Card):
    """One model's answer: its state, timings, tokens, cost and the streamed text."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model
        self.request_id: str | None = None
        self.state = "waiting"
        self.cost: float | None = None
        self.is_cost_known = False
        self.setMinimumWidth(260)
        name = scaled_label(model, 1.1, bold=True)
        name.setToolTip(model)
        self.status = scaled_label("Waiting…", 0.9, faint=True)
        top = QHBoxLayout()
        top.addWidget(name, 1)
        top.addWidget(self.status)
        self.ttft = scaled_label("–", bold=True)
        self.total = scaled_label("–", bold=True)
        self.tokens = scaled_label("–", bold=True)
        self.cost_label = scaled_label("–", bold=True)
        metrics = QGridLayout()
        metrics.setHorizontalSpacing(14)
        metrics.setVerticalSpacing(0)
        for i, (caption, value) in enumerate(
            (("First token", self.ttft), ("Total", self.total), ("Tokens", self.tokens), ("Cost", self.cost_label))
        ):
            metrics.addWidget(scaled_label(caption, 0.8, faint=True), 0, i)
            metrics.addWidget(value, 1, i)
        metrics.setColumnStretch(4, 1)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFrameShape(QFrame.Shape.NoFrame)
        self.text.setAccessibleName(f"Answer from {model}")
        self.error = scaled_label()
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        palette = self.error.palette()
        palette.setColor(self.error.foregroundRole(), series_color(palette, "red"))
        self.error.setPalette(palette)
        self.error.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.addLayout(top)
        layout.addLayout(metrics)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addWidget(self.error)
        layout.addWidget(self.text, 1)

    @property
    def is_over(self) -> bool:
        return self.state in ("done", "failed", "stopped")

    def answer(self) -> str:
        return self.text.toPlainText()

    def append(self, text: str) -> None:
        cursor = self.text.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.text.setTextCursor(cursor)
        self.text.ensureCursorVisible()

    def set_state(self, state: str, label: str) -> None:
        self.state = state
        self.status.setText(label)

    def fail(self, message: str) -> None:
        self.set_state("failed", "Failed")
        self.error.setText(message)
        self.error.setVisible(True)
        if not self.answer():
            self.text.setVisible(False)

    def set_logged(self, record: RequestRecord) -> None:
        self.is_cost_known = True
        self.cost = record.cost
        self.cost_label.setText(money(record.cost) if record.status == "ok" or record.cost else "–")
        if self.tokens.text() == "–" and (record.tokens_in or record.tokens_out):
            self.tokens.setText(f"{count(record.tokens_in or 0)} → {count(record.tokens_out or 0)}")


class PlaygroundPage(QWidget):
    """Signals:
    run_finished(): every column of the current run is over (done, failed or stopped).
    """

    run_finished = Signal()

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.run: int | None = None
        self.columns: list[ResultColumn] = []
        self._pending: dict[int, list[str]] = {}
        self._logged: OrderedDict[str, RequestRecord] = OrderedDict()

        title = scaled_label("Playground", 1.5, bold=True)
        subtitle = scaled_label("Send one prompt to several models at once and compare the answers.", faint=True)

        self.models = QListWidget()
        self.models.setAccessibleName("Models to send to")
        self.models.setMinimumWidth(200)
        self.models.setStyleSheet("QListWidget::item { padding: 3px 4px; }")
        self.add_model = QLineEdit()
        self.add_model.setPlaceholderText("Add a model, e.g. openai/gpt-4o")
        self.add_model.setAccessibleName("Add a model name")
        models_box = QVBoxLayout()
        models_box.setSpacing(6)
        models_box.addWidget(scaled_label("Models", bold=True))
        models_box.addWidget(self.models, 1)
        models_box.addWidget(self.add_model)

        self.system = QPlainTextEdit()
        self.system.setPlaceholderText("System prompt (optional)")
        self.system.setAccessibleName("System prompt")
        self.system.setFixedHeight(self.fontMetrics().lineSpacing() * 2 + 16)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Type a prompt… (Ctrl+Enter sends)")
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setMinimumHeight(self.fontMetrics().lineSpacing() * 3 + 16)
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.setToolTip("Send to every checked model (Ctrl+Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.note = scaled_label("", 0.9, faint=True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)
        prompt_box = QVBoxLayout()
        prompt_box.setSpacing(6)
        prompt_box.addWidget(scaled_label("Prompt", bold=True))
        prompt_box.addWidget(self.system)
        prompt_box.addWidget(self.prompt, 1)
        prompt_box.addLayout(buttons)

        top = QWidget()
        top.setMaximumHeight(self.fontMetrics().lineSpacing() * 16 + 60)  # the answers get the room
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(12)
        top_layout.addLayout(models_box, 1)
        top_layout.addLayout(prompt_box, 3)

        self.results = QWidget()
        self.results_layout = QHBoxLayout(self.results)
        self.results_layout.setContentsMargins(0, 0, 0, 0)
        self.results_layout.setSpacing(10)
        self.empty = scaled_label("Answers appear here, side by side, as they stream in.", faint=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.results_layout.addWidget(self.empty)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.results)
        scroll.setMinimumHeight(240)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([self.fontMetrics().lineSpacing() * 11 + 60, 600])
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(8)
        header = QVBoxLayout()
        header.setSpacing(0)
        header.addWidget(title)
        header.addWidget(subtitle)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)

        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self.flush)
        self.send_button.clicked.connect(self.send)
        self.stop_button.clicked.connect(self.stop)
        self.add_model.returnPressed.connect(self.on_add_model)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.send)
        bridge.playground.reported.connect(self.on_event)
        bridge.request_logged.connect(self.on_logged)
        bridge.started.connect(lambda _url: self.refresh_models())
        self.refresh_models()

    # -- models ----------------------------------------------------------------------------------

    def refresh_models(self) -> None:
        """The routes in force that a chat can name (enabled, not a pattern, not embeddings-only),
        plus names added by hand; ticks are kept."""
        checked = set(self.checked_models())
        added = [
            self.models.item(i).text()
            for i in range(self.models.count())
            if self.models.item(i).data(Qt.ItemDataRole.UserRole)
        ]
        names = [
            r.name
            for r in self.bridge.config.routes()
            if r.enabled and not r.is_pattern and not all("embed" in t.model for t in r.all_targets)
        ]
        self.models.clear()
        for name in names + [a for a in added if a not in names]:
            self._add_item(name, name in checked, by_hand=name in added)
        if not checked and self.models.count():
            self.models.item(0).setCheckState(Qt.CheckState.Checked)

    def _add_item(self, name: str, checked: bool, *, by_hand: bool = False) -> None:
        item = QListWidgetItem(name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        item.setData(Qt.ItemDataRole.UserRole, by_hand)
        if by_hand:
            item.setToolTip("Added by hand")
        self.models.addItem(item)

    def on_add_model(self) -> None:
        name = self.add_model.text().strip()
        if not name:
            return
        existing = self.models.findItems(name, Qt.MatchFlag.MatchExactly)
        if existing:
            existing[0].setCheckState(Qt.CheckState.Checked)
        else:
            self._add_item(name, True, by_hand=True)
        self.add_model.clear()

    def checked_models(self) -> list[str]:
        return [
            self.models.item(i).text()
            for i in range(self.models.count())
            if self.models.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, names: list[str]) -> None:
        """Tick exactly these models (adding names not listed yet)."""
        for name in names:
            if not self.models.findItems(name, Qt.MatchFlag.MatchExactly):
                self._add_item(name, False, by_hand=True)
        for i in range(self.models.count()):
            item = self.models.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)

    # -- a run -------------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self.run is not None and not all(c.is_over for c in self.columns)

    def send(self) -> None:
        if self.is_running:
            return
        models = self.checked_models()
        prompt = self.prompt.toPlainText().strip()
        if not prompt:
            self.note.setText("Type a prompt first.")
            return
        if not models:
            self.note.setText("Tick at least one model.")
            return
        if self.bridge.base_url is None:
            self.note.setText("The gateway is not running.")
            return
        messages = []
        if self.system.toPlainText().strip():
            messages.append({"role": "system", "content": self.system.toPlainText().strip()})
        messages.append({"role": "user", "content": prompt})
        self._clear_columns()
        for model in models:
            column = ResultColumn(model)
            self.columns.append(column)
            self.results_layout.addWidget(column, 1)
        self.note.setText(f"Sending to {len(models)} model{'s' * (len(models) != 1)}…")
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.run = self.bridge.playground.send(models, messages)

    def stop(self) -> None:
        if self.run is not None and self.is_running:
            self.bridge.playground.stop(self.run)
            self.note.setText("Stopping…")

    def _clear_columns(self) -> None:
        self._pending.clear()
        self.empty.setVisible(False)
        for column in self.columns:
            self.results_layout.removeWidget(column)
            column.deleteLater()
        self.columns = []

    def on_event(self, event: ColumnEvent) -> None:
        if event.run != self.run or not 0 <= event.column < len(self.columns):
            return  # a run replaced by a newer Send
        column = self.columns[event.column]
        if event.kind == "started":
            column.request_id = event.request_id
            column.set_state("streaming", "Streaming…")
            logged = self._logged.get(event.request_id) if event.request_id is not None else None
            if logged is not None:
                column.set_logged(logged)
            return
        if event.kind == "delta":
            if event.ttft_ms is not None:
                column.ttft.setText(duration(event.ttft_ms))
            self._pending.setdefault(event.column, []).append(event.text)
            if not self._flush_timer.isActive():
                self._flush_timer.start()
            return
        self.flush()  # the text so far goes in before the column says it is over
        if event.total_ms is not None:
            column.total.setText(duration(event.total_ms))
        if event.kind == "done":
            column.set_state("done", "Done")
            if event.tokens_in is not None or event.tokens_out is not None:
                column.tokens.setText(f"{count(event.tokens_in or 0)} → {count(event.tokens_out or 0)}")
                column.tokens.setToolTip("prompt tokens → answer tokens")
            if not column.is_cost_known:
                column.cost_label.setText("…")
                column.cost_label.setToolTip("Waiting for the request log")
        elif event.kind == "failed":
            column.fail(event.text)
        else:
            column.set_state("stopped", "Stopped")
        if all(c.is_over for c in self.columns):
            self._flush_timer.stop()
            self.send_button.setEnabled(True)
            self.stop_button.setEnabled(False)
            states = [c.state for c in self.columns]
            parts = [
                f"{states.count(s)} {word}"
                for s, word in (("done", "done"), ("failed", "failed"), ("stopped", "stopped"))
                if states.count(s)
            ]
            self.note.setText(", ".join(parts).capitalize() + ".")
            self.run_finished.emit()

    def flush(self) -> None:
        """Write the text gathered since the last flush to its columns."""
        pending, self._pending = self._pending, {}
        for index, parts in pending.items():
            if index < len(self.columns):
                self.columns[index].append("".join(parts))
        if not pending:
            self._flush_timer.stop()

    def on_logged(self, record: RequestRecord) -> None:
        for column in self.columns:
            if column.request_id == record.id:
                column.set_logged(record)
                return
        if self.is_running:  # perhaps its column does not know its id yet
            self._logged[record.id] = record
            while len(self._logged) > LOGGED_KEPT:
                self._logged.popitem(last=False)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self.is_running:
            self.refresh_models()  # the routes may have changed meanwhile

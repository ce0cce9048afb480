"""Access keys (part of Settings): the keys tools present to use Switchboard.

Lists names, a masked hint, when each was made and last used; never a key's value, except right
after "New key", once, in a dialog with a Copy button (in view whatever the page's scroll). Revoke
asks first. Everything goes through the bridge on worker threads (the index file, the keychain and
the request log are disk and D-Bus).
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.services import GatewayBridge
from desktop.windows.status import confirmed
from desktop.windows.status import plain_label as _label
from proxy.api import ACCESS_KEY_ENV, AccessKeyRow

ABOUT = (
    "Tools send one of these keys to use Switchboard (as their API key). Give each tool its own key: "
    "you can then see which one made a request, and revoke one without touching the others."
)


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class AccessKeysBox(QWidget):
    """The access keys, New key (shown once) and Revoke."""

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.about = _label(ABOUT)
        self.env_note = _label(
            f"This run uses the key in the {ACCESS_KEY_ENV} environment variable instead of the keys below."
        )
        self.env_note.setVisible(bool(os.environ.get(ACCESS_KEY_ENV)))
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Key", "Created", "Last used"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAccessibleName("Access keys")
        self.tree.setMinimumHeight(90)
        self.tree.setMaximumHeight(150)  # a few keys; the New key row stays in view
        self.name = QLineEdit()
        self.name.setPlaceholderText("name for a new key, e.g. cursor")
        self.name.setAccessibleName("Name of the new access key")
        self.new_button = QPushButton("New key")
        self.revoke_button = QPushButton("Revoke…")
        self.revoke_button.setEnabled(False)
        self.status = _label()

        self.new_key_dialog: NewKeyDialog | None = None
        """The dialog showing a new key's value, while it is open."""

        row = QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(self.new_button)
        row.addWidget(self.revoke_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.about)
        layout.addWidget(self.env_note)
        layout.addWidget(self.tree)
        layout.addLayout(row)
        layout.addWidget(self.status)
        for first, second in zip(
            [self.tree, self.name, self.new_button], [self.name, self.new_button, self.revoke_button], strict=True
        ):
            QWidget.setTabOrder(first, second)

        self.new_button.clicked.connect(self.create_key)
        self.name.returnPressed.connect(self.create_key)
        self.revoke_button.clicked.connect(self.revoke_key)
        self.tree.currentItemChanged.connect(lambda *_: self.revoke_button.setEnabled(self.selected() is not None))
        bridge.access_keys.listed.connect(self.on_listed)
        bridge.access_keys.created.connect(self.on_created)
        bridge.access_keys.revoked.connect(self.on_revoked)
        bridge.started.connect(lambda _url: self.bridge.access_keys.load())
        if bridge.base_url is not None:
            bridge.access_keys.load()

    def selected(self) -> str | None:
        item = self.tree.currentItem()
        return item.text(0) if item is not None else None

    def on_listed(self, keys: tuple[AccessKeyRow, ...]) -> None:
        current = self.selected()
        self.tree.clear()
        for key in keys:
            item = QTreeWidgetItem([key.name, key.hint, when(key.created), when(key.last_used)])
            self.tree.addTopLevelItem(item)
            if key.name == current:
                self.tree.setCurrentItem(item)
        for column in range(4):
            self.tree.resizeColumnToContents(column)
        self.revoke_button.setEnabled(self.selected() is not None)

    def create_key(self) -> None:
        name = self.name.text().strip().lower()
        if not name:
            self.status.setText("Type a name for the new key first (for example the tool that will use it).")
            self.name.setFocus()
            return
        self.new_button.setEnabled(False)
        self.status.setText(f"Making {name}…")
        self.bridge.access_keys.create(name)

    def on_created(self, name: str, ok: bool, value_or_message: str) -> None:
        self.new_button.setEnabled(True)
        if not ok:
            self.status.setText(f"No key made: {value_or_message}")
            return
        self.name.clear()
        self.status.setText(f"Made the key “{name}”.")
        dialog = NewKeyDialog(name, value_or_message, self)
        self.new_key_dialog = dialog
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        dialog.open()  # modal over the window, without blocking the event loop

    def _dialog_closed(self, dialog: NewKeyDialog) -> None:
        if self.new_key_dialog is dialog:
            self.new_key_dialog = None

    def revoke_key(self) -> None:
        name = self.selected()
        if name is None:
            return
        question = f"Revoke the access key “{name}”?\n\nTools using it are refused at once and need a new key."
        if not confirmed(self, "Revoke access key", question):
            return
        self.revoke_button.setEnabled(False)
        self.status.setText(f"Revoking {name}…")
        self.bridge.access_keys.revoke(name)

    def on_revoked(self, name: str, ok: bool, message: str) -> None:
        self.status.setText(message if ok else f"Not revoked: {message}")
        self.revoke_button.setEnabled(self.selected() is not None)


class NewKeyDialog(QDialog):
    """A new key's value, shown this once: the value, Copy and Done. Closing it forgets the value."""

    def __init__(self, name: str, value: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle("New access key")
        self.setModal(True)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.warning = _label(
            f"This is the new key “{name}”. It is shown only this once: Switchboard keeps it in your "
            "keychain and will not show it again. Copy it now and paste it into your tool as its API key; "
            "it works from now on."
        )
        self.secret = QLineEdit(value)
        self.secret.setReadOnly(True)
        self.secret.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.secret.setAccessibleName("The new access key")
        self.secret.setMinimumWidth(self.secret.fontMetrics().horizontalAdvance(value) + 24)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy the new access key")
        self.done_button = QPushButton("Done")
        self.done_button.setAccessibleName("Close; the key is not shown again")
        self.copied = _label()
        buttons = QHBoxLayout()
        buttons.addWidget(self.copied, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.done_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.warning)
        layout.addWidget(self.secret)
        layout.addLayout(buttons)
        self.copy_button.clicked.connect(self.copy)
        self.done_button.clicked.connect(self.accept)
        self.finished.connect(lambda _result: self.secret.clear())  # the value leaves with the dialog
        self.copy_button.setDefault(True)
        self.copy_button.setFocus()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.secret.text())
        self.copied.setText("Copied to the clipboard.")

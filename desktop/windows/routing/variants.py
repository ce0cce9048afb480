"""The A/B split of a route: its variants, the one being edited, its name and share of clients.

The operations on the route's plain data (split it, add or remove a variant) are functions; the
box shows and reads the variant being edited. The page owns the route and saves it.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton

from desktop.widgets.guarded import ComboBox, Slider
from desktop.windows.status import plain_label

NAMES = "abcdefghijklmnopqrstuvwxyz0123456789"
"""Names for new variants, in order (the first one not taken)."""


def split(route: dict[str, Any]) -> int:
    """Split ``route``'s targets into variants ``a`` and ``b`` (50/50, same targets); returns the
    index of the variant to edit next (``b``)."""
    targets = route["targets"]
    route["variants"] = [
        {"name": "a", "weight": 50.0, "targets": targets},
        {"name": "b", "weight": 50.0, "targets": copy.deepcopy(targets)},
    ]
    route["targets"] = []
    return 1


def add(route: dict[str, Any], targets: list[dict[str, Any]]) -> int:
    """Add a variant with a copy of ``targets``; returns its index."""
    names = {v["name"] for v in route["variants"]}
    name = next(c for c in NAMES if c not in names)
    route["variants"].append({"name": name, "weight": 50.0, "targets": copy.deepcopy(targets)})
    return len(route["variants"]) - 1


def remove(route: dict[str, Any], index: int) -> int:
    """Remove variant ``index``; with one left the route has plain targets again. Returns the
    index to edit next."""
    del route["variants"][index]
    if len(route["variants"]) == 1:  # one variant left: no split any more
        route["targets"] = route["variants"][0]["targets"]
        route["variants"] = []
    return 0


class VariantsBox(QGroupBox):
    """The split's widgets; those of a split show only while the route has one.

    Signals:
        edited(): the user changed the edited variant's name or share.
    """

    edited = Signal()

    def __init__(self) -> None:
        super().__init__("A/B split")
        self.pick = ComboBox()
        self.pick.setAccessibleName("Variant being edited")
        self.name = QLineEdit()
        self.name.setAccessibleName("Variant name")
        self.share_slider = Slider(Qt.Orientation.Horizontal)
        self.share_slider.setRange(0, 100)
        self.share_slider.setAccessibleName("Variant share")
        self.share = QLabel()
        self.split_button = QPushButton("Split into A/B variants")
        self.add_button = QPushButton("Add variant")
        self.remove_button = QPushButton("Remove variant")
        self.hint = plain_label(
            "Send a share of your tools to another set of targets and compare them in the log and dashboard."
        )
        grid = QGridLayout(self)
        grid.addWidget(self.hint, 0, 0, 1, 4)
        editing, name, share = QLabel("Editing"), QLabel("Name"), QLabel("Share")
        grid.addWidget(editing, 1, 0)
        grid.addWidget(self.pick, 1, 1)
        grid.addWidget(name, 1, 2)
        grid.addWidget(self.name, 1, 3)
        grid.addWidget(share, 2, 0)
        grid.addWidget(self.share_slider, 2, 1, 1, 2)
        grid.addWidget(self.share, 2, 3)
        buttons = QHBoxLayout()
        buttons.addWidget(self.split_button)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        grid.addLayout(buttons, 3, 0, 1, 4)
        self._split_only = (
            editing,
            name,
            share,
            self.pick,
            self.name,
            self.share_slider,
            self.share,
            self.remove_button,
            self.add_button,
        )
        """Shown only while the route has an A/B split."""
        self.name.textEdited.connect(lambda _text: self.edited.emit())
        self.share_slider.valueChanged.connect(lambda _value: self.edited.emit())

    def load(self, variants: list[dict[str, Any]], index: int) -> None:
        """Show ``variants`` with variant ``index`` being edited (signals blocked by the caller's
        loading flag: ``pick`` changes while it fills)."""
        self.pick.clear()
        for v in variants:
            self.pick.addItem(v["name"])
        if variants:
            self.pick.setCurrentIndex(index)
            self.name.setText(variants[index]["name"])
            self.share_slider.setValue(round(min(100.0, variants[index]["weight"])))
        for widget in self._split_only:
            widget.setVisible(bool(variants))
        self.split_button.setVisible(not variants)
        self.show_share(variants, index)

    def store(self, variants: list[dict[str, Any]], index: int) -> None:
        """Write the edited variant's name and share into ``variants[index]``."""
        v = variants[index]
        v["name"] = self.name.text().strip()
        v["weight"] = float(self.share_slider.value())
        self.pick.setItemText(index, v["name"])

    def show_share(self, variants: list[dict[str, Any]], index: int) -> None:
        if variants:
            total = sum(v["weight"] for v in variants) or 1.0
            self.share.setText(f"{100 * variants[index]['weight'] / total:.0f}% of clients")

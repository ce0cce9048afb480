"""Form widgets bound to the config schema: each field is spelt once, by its path.

A :class:`SchemaForm` makes the widget for a field of a pydantic model (``"retries.max_retries"``
of ``RouteConfig``) from what the model says about it: its type (a check box for ``bool``, a spin
box for numbers, a combo box for a ``Literal``, a line for text), its bounds (``ge``/``gt``/
``le``/``lt`` become the box's range), whether it may be unset (the box's lowest value then means
"unset" and shows a word for it), and its description (the tooltip). The form then reads every
bound field from the model's plain-data form (``model_dump()``) and writes it back, so no page
spells a field's path twice.

What the schema does not say is the page's to give: the label (a field's ``title`` wins when the
schema has one), a unit (``suffix``, ``scale``: seconds shown as minutes), a cap for a field the
schema leaves unbounded, and a better tooltip where a page has one (``hints``).

Every number box, slider and combo box here ignores the mouse wheel unless it has the keyboard
focus (:mod:`desktop.widgets.guarded`), so scrolling a long form never changes a value by accident.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

from desktop.widgets.guarded import ComboBox, DoubleSpinBox, SpinBox

INT_MAX = 2**31 - 1
"""The largest value a QSpinBox holds: the cap of an int field the schema leaves unbounded."""
FLOAT_MAX = 1e12


def field_info(model: type[BaseModel], path: str) -> FieldInfo:
    """The pydantic field at ``path`` (dots go into nested models: ``"cache.ttl"``)."""
    *parents, name = path.split(".")
    for part in parents:
        nested = _without_none(model.model_fields[part].annotation)
        if not (isinstance(nested, type) and issubclass(nested, BaseModel)):
            raise TypeError(f"{path}: {part} is not a nested model")
        model = nested
    try:
        return model.model_fields[name]
    except KeyError:
        raise KeyError(f"{model.__name__} has no field {name!r} (from {path!r})") from None


def _without_none(annotation: Any) -> Any:
    """``int`` for ``int | None``; the annotation itself otherwise."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _is_optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


@dataclass(frozen=True)
class Bounds:
    """A number field's range in the widget's units (after ``scale``)."""

    low: float
    high: float


def bounds(info: FieldInfo, step: float, scale: float = 1.0, cap: float | None = None) -> Bounds:
    """The lowest and highest valid values of a number field, in steps of ``step`` (an open bound
    ``gt``/``lt`` is one step inside); ``cap`` stands in for a missing upper bound."""
    low, high = 0.0, cap
    for rule in info.metadata:
        if isinstance(rule, annotated_types.Ge):
            low = float(rule.ge) / scale  # type: ignore[arg-type]  # numbers, for number fields
        elif isinstance(rule, annotated_types.Gt):
            low = float(rule.gt) / scale + step  # type: ignore[arg-type]  # numbers, for number fields
        elif isinstance(rule, annotated_types.Le):
            high = float(rule.le) / scale  # type: ignore[arg-type]  # numbers, for number fields
        elif isinstance(rule, annotated_types.Lt):
            high = float(rule.lt) / scale - step  # type: ignore[arg-type]  # numbers, for number fields
    if high is None:
        high = INT_MAX if _without_none(info.annotation) is int else FLOAT_MAX
    return Bounds(low, high)


@dataclass
class Binding:
    """One widget bound to one field: how to show a value and how to read it back."""

    path: str
    widget: QWidget
    label: str
    show: Callable[[Any], None]
    read: Callable[[], Any]


class SchemaForm(QObject):
    """Widgets for fields of ``model``, read from and written to its plain-data form.

    Signals:
        edited(): the user changed a bound widget (not while :meth:`load` fills them).
    """

    edited = Signal()

    def __init__(
        self, model: type[BaseModel], parent: QObject | None = None, hints: dict[str, str] | None = None
    ) -> None:
        """``hints``: the page's own tooltip for a field (by path), where it has a better one than
        the field's description."""
        super().__init__(parent)
        self.model = model
        self.hints = hints or {}
        self.bindings: dict[str, Binding] = {}
        self._loading = False

    # -- making widgets ----------------------------------------------------------------------------

    def check(self, path: str, text: str | None = None) -> QCheckBox:
        """A check box for a ``bool`` field; ``text`` is shown beside it (else the field's title)."""
        info = field_info(self.model, path)
        box = QCheckBox(text or _title(info, path))
        box.toggled.connect(self._changed)
        self._bind(path, box, info, "", lambda v: box.setChecked(bool(v)), box.isChecked)
        return box

    def number(
        self,
        path: str,
        label: str | None = None,
        *,
        suffix: str = "",
        prefix: str = "",
        decimals: int | None = None,
        step: float | None = None,
        scale: float = 1.0,
        cap: float | None = None,
        unset: str | None = None,
    ) -> QSpinBox | QDoubleSpinBox:
        """A spin box for an ``int`` or ``float`` field, its range from the schema's bounds.

        Args:
            decimals: digits after the point for a float field (default 2; 0 shows whole numbers).
            step: the arrows' step (default one unit of the last digit).
            scale: the field's units per shown unit (60: seconds shown as minutes).
            cap: the highest value when the schema sets none.
            unset: for a field that may be unset: the word shown for "unset" (its lowest value).
        """
        info = field_info(self.model, path)
        is_int = _without_none(info.annotation) is int and scale == 1.0
        unit = 1.0 if is_int else 10.0 ** -(2 if decimals is None else decimals)
        span = bounds(info, unit, scale, cap)
        box: QSpinBox | QDoubleSpinBox
        if is_int:
            box = SpinBox()
        else:
            box = DoubleSpinBox()
            box.setDecimals(2 if decimals is None else decimals)
        optional = _is_optional(info.annotation)
        low = span.low - unit if optional else span.low
        if isinstance(box, QSpinBox):
            box.setRange(int(low), int(min(span.high, INT_MAX)))
        else:
            box.setRange(low, span.high)
        if step is not None:
            box.setSingleStep(step)  # type: ignore[arg-type]  # whole for an int box
        box.setSuffix(suffix)
        box.setPrefix(prefix)
        if optional:
            box.setSpecialValueText(unset or "unset")
        box.valueChanged.connect(self._changed)

        def show(value: Any) -> None:
            shown = low if value is None else value / scale
            if isinstance(box, QSpinBox):
                box.setValue(round(shown))
            else:
                box.setValue(shown)

        def read() -> Any:
            value = box.value()
            if optional and value == low:
                return None
            return value * scale if scale != 1.0 else value

        self._bind(path, box, info, label, show, read)
        return box

    def choice(self, path: str, labels: dict[str, str], label: str | None = None) -> QComboBox:
        """A combo box for a ``Literal`` field: its values, in the schema's order, shown as ``labels``."""
        info = field_info(self.model, path)
        kind = _without_none(info.annotation)
        values = get_args(kind) if get_origin(kind) is Literal else ()
        if not values:
            raise TypeError(f"{path} is not a Literal field")
        combo = ComboBox()
        for value in values:
            combo.addItem(labels.get(value, value), value)
        combo.currentIndexChanged.connect(self._changed)

        def show(value: Any) -> None:
            combo.setCurrentIndex(max(0, combo.findData(value)))

        self._bind(path, combo, info, label, show, combo.currentData)
        return combo

    def text(self, path: str, label: str | None = None, placeholder: str = "") -> QLineEdit:
        """A line for a ``str`` field; what is read back is stripped of surrounding spaces."""
        info = field_info(self.model, path)
        line = QLineEdit()
        line.setPlaceholderText(placeholder)
        line.textEdited.connect(self._changed)
        self._bind(path, line, info, label, lambda v: line.setText(v or ""), lambda: line.text().strip())
        return line

    def label(self, widget: QWidget) -> str:
        """The label for the row of ``widget`` (made by this form)."""
        return next(b.label for b in self.bindings.values() if b.widget is widget)

    # -- values ------------------------------------------------------------------------------------

    def load(self, data: dict[str, Any]) -> None:
        """Show the values of ``data`` (the model's plain-data form); ``edited`` does not fire."""
        self._loading = True
        try:
            for path, binding in self.bindings.items():
                binding.show(get_path(data, path))
        finally:
            self._loading = False

    def values(self) -> dict[str, Any]:
        """What the widgets say, by path (plain values: safe to hand to another thread)."""
        return {path: binding.read() for path, binding in self.bindings.items()}

    def store(self, data: dict[str, Any]) -> None:
        """Write what the widgets say into ``data`` (nested dicts are made where missing)."""
        put_paths(data, self.values())

    def _bind(
        self,
        path: str,
        widget: QWidget,
        info: FieldInfo,
        label: str | None,
        show: Callable[[Any], None],
        read: Callable[[], Any],
    ) -> None:
        if path in self.bindings:
            raise ValueError(f"{path} is bound twice")
        tip = self.hints.get(path) or info.description
        if tip:
            widget.setToolTip(tip)
        self.bindings[path] = Binding(path, widget, _title(info, path) if label is None else label, show, read)

    def _changed(self, *_: object) -> None:
        if not self._loading:
            self.edited.emit()


def _title(info: FieldInfo, path: str) -> str:
    return info.title or path.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def get_path(data: dict[str, Any], path: str) -> Any:
    """``data["retries"]["max_retries"]`` for ``"retries.max_retries"`` (``None`` where missing)."""
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def put_paths(data: dict[str, Any], values: dict[str, Any]) -> None:
    """Set each ``path: value`` of ``values`` in ``data``, making nested dicts where missing."""
    for path, value in values.items():
        *parents, name = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[name] = value

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

import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
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
    refused = Signal(str)
    """A value was refused, in words (a number out of range: the box keeps its last good value)."""

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

        def refuse(typed: str) -> None:
            name = self.label(box)
            lowest = span.low if isinstance(box, QDoubleSpinBox) else int(span.low)
            highest = span.high if isinstance(box, QDoubleSpinBox) else int(min(span.high, INT_MAX))
            self.refused.emit(
                f"“{name}” must be from {_number(lowest)} to {_number(highest)}: {typed} is out of range, "
                "so it was not taken."
            )

        box.out_of_range.connect(refuse)

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


# -- errors in plain words ---------------------------------------------------------------------

PATTERN_WORDS = {
    r"^[a-z0-9][a-z0-9_.-]{0,63}$": (
        "use lowercase letters, digits, dots, dashes or underscores (up to 64), starting with a letter or digit"
    ),
    r"^\S+$": "it cannot contain spaces",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "use letters, digits and _, not starting with a digit",
}
"""What the schema's patterns mean, for people."""

_CROSS_FIELD = [
    (
        re.compile(r"duplicate route name '(?P<x>[^']*)'"),
        "There is already a route named “{x}”: give this one another name.",
    ),
    (re.compile(r"duplicate provider id '(?P<x>[^']*)'"), "There is already a provider named “{x}”."),
    (re.compile(r"unknown provider '(?P<x>[^']*)'"), "There is no provider named “{x}”."),
    (re.compile(r"no route named '(?P<x>[^']*)'"), "There is no route named “{x}”."),
]


def _number(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}" if isinstance(value, float) else str(value)


def _field_label(model: type[BaseModel], loc: tuple[int | str, ...], labels: dict[str, str]) -> str | None:
    names = [str(p) for p in loc if not isinstance(p, int)]
    path = ".".join(names)
    if path in labels:
        return labels[path]
    info = _field_at(model, names)
    return None if info is None else _title(info, names[-1])


def _field_at(model: type[BaseModel], names: list[str]) -> FieldInfo | None:
    node: Any = model
    info: FieldInfo | None = None
    for name in names:
        node = _without_none(node)
        if get_origin(node) is list:
            node = get_args(node)[0]
        if not (isinstance(node, type) and issubclass(node, BaseModel)) or name not in node.model_fields:
            return None
        info = node.model_fields[name]
        node = info.annotation
    return info


def _bounds_words(info_ctx: dict[str, Any]) -> str:
    low = info_ctx.get("ge", info_ctx.get("gt"))
    high = info_ctx.get("le", info_ctx.get("lt"))
    if low is not None and high is not None:
        return f"from {_number(low)} to {_number(high)}"
    if low is not None:
        return f"{'more than' if 'gt' in info_ctx else 'at least'} {_number(low)}"
    return f"{'less than' if 'lt' in info_ctx else 'at most'} {_number(high)}"


def plain_problems(exc: ValidationError, model: type[BaseModel], labels: dict[str, str] | None = None) -> list[str]:
    """One sentence per problem in ``exc`` (raised validating ``model``), naming the field by its
    label (``labels`` by path, else the schema's title) instead of a path, and saying what is
    allowed in words instead of a regex."""
    labels = labels or {}
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
        label = _field_label(model, loc, labels) if loc else None
        kind, ctx = err["type"], err.get("ctx") or {}
        msg = str(err["msg"]).removeprefix("Value error, ")
        what = f"“{label}”" if label else "This value"
        if kind == "missing":
            line = f"{what} is needed."
        elif kind == "string_too_short" and ctx.get("min_length") == 1:
            line = f"{what} cannot be empty."
        elif kind == "string_too_long":
            line = f"{what} is too long: at most {_number(ctx.get('max_length'))} characters."
        elif kind == "string_pattern_mismatch":
            words = PATTERN_WORDS.get(str(ctx.get("pattern")), "it has characters that are not allowed")
            line = f"{what} is not valid: {words}." if err.get("input") else f"{what} cannot be empty."
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            info = _field_at(model, [str(p) for p in loc if not isinstance(p, int)])
            rules = dict(ctx)
            for rule in info.metadata if info is not None else ():  # the whole range, not only the side crossed
                for bound in ("ge", "gt", "le", "lt"):
                    if hasattr(rule, bound):
                        rules.setdefault(bound, getattr(rule, bound))
            line = f"{what} must be {_bounds_words(rules)}."
        elif kind in ("int_parsing", "float_parsing", "int_type", "float_type"):
            line = f"{what} must be a number."
        else:
            line = ""
            for pattern, words in _CROSS_FIELD:
                found = pattern.search(msg)
                if found:
                    line = words.format(**found.groupdict())
                    break
            if not line:
                msg = re.sub(r"^[\w.\[\]\"]+: ", "", msg)  # a cross-field check's own path
                msg = msg[:1].upper() + msg[1:]
                line = f"{what}: {msg}" if label else msg
                line = line if line.endswith(".") else f"{line}."
        lines.append(line)
    return lines

"""Edit a tool's config file in place: set or remove only the keys Switchboard owns, keeping the
user's other settings, comments and key order.

One :class:`Doc` per format, all over nested mappings: plain ``dict`` for JSON (indentation
detected and kept), ``tomlkit`` documents for TOML, ``ruamel.yaml`` round-trip maps for YAML (the
two keep comments and order). An :class:`Owned` names one key path and the value Switchboard
wants there; :class:`OwnedEntries` names Switchboard's own items in a list (Continue's
``models``), recognised by a name suffix.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import tomlkit
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from tomlkit.exceptions import TOMLKitError

Format = Literal["json", "toml", "yaml"]
MISSING: Any = object()
"""The key is not in the file."""


class ConnectError(Exception):
    """Apply, Restore or a check could not be done; the message says why, for people."""


@dataclass(frozen=True)
class Owned:
    """A key Switchboard sets: ``path`` from the top of the file, and its value (plain data)."""

    path: tuple[str, ...]
    value: Any
    only_if_missing: bool = False
    """Set only when the file has no value there (e.g. Continue's ``schema``); a user's value stays."""


@dataclass(frozen=True)
class OwnedEntries:
    """Switchboard's items in the list at ``path``: those whose ``key`` ends with ``suffix``."""

    path: tuple[str, ...]
    items: tuple[Mapping[str, Any], ...]
    key: str = "name"
    suffix: str = " (Switchboard)"

    def ours(self, item: object) -> bool:
        return isinstance(item, Mapping) and str(item.get(self.key, "")).endswith(self.suffix)


Ownership = Owned | OwnedEntries


def plain(value: Any) -> Any:
    """``value`` as plain JSON-like data (tomlkit and ruamel containers unwrapped)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value


class Doc:
    """A parsed config file that can be edited and written back as text."""

    def __init__(self, fmt: Format, text: str, where: str) -> None:
        self.fmt = fmt
        self.where = where
        self._trailing_newline = text.endswith("\n") or not text
        self._indent = 2
        self._yaml: YAML | None = None
        try:
            self.root: MutableMapping[str, Any] = self._parse(text)
        except (ValueError, TOMLKitError, YAMLError) as exc:
            raise ConnectError(
                f"{where} is not valid {fmt.upper()} ({str(exc).splitlines()[0]}); fix it, or set it up by hand "
                "from the snippet."
            ) from None

    def _parse(self, text: str) -> MutableMapping[str, Any]:
        if self.fmt == "json":
            found = re.search(r"^\{\s*\n([ \t]+)\S", text)
            if found:
                self._indent = len(found.group(1).expandtabs(4))
            data = json.loads(text) if text.strip() else {}
        elif self.fmt == "toml":
            data = tomlkit.parse(text)
        else:
            self._yaml = YAML()
            self._yaml.preserve_quotes = True
            self._yaml.width = 4096
            self._yaml.indent(mapping=2, sequence=4, offset=2)
            data = self._yaml.load(text) if text.strip() else CommentedMap()
            if data is None:
                data = CommentedMap()
        if not isinstance(data, MutableMapping):
            raise ConnectError(f"{self.where} does not hold a map of settings at the top; set it up by hand.")
        return data

    # -- reading and changing keys ----------------------------------------------------------------

    def get(self, path: tuple[str, ...]) -> Any:
        node: Any = self.root
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                return MISSING
            node = node[part]
        return plain(node)

    def set(self, path: tuple[str, ...], value: Any) -> None:
        node = self._parent(path, create=True)
        assert node is not None
        node[path[-1]] = self._native(value)

    def delete(self, path: tuple[str, ...]) -> None:
        """Remove the key, and parents left empty by that."""
        node = self._parent(path, create=False)
        if node is None or path[-1] not in node:
            return
        del node[path[-1]]
        if len(path) > 1 and not node:
            self.delete(path[:-1])

    def _parent(self, path: tuple[str, ...], create: bool) -> MutableMapping[str, Any] | None:
        node: Any = self.root
        for part in path[:-1]:
            if not isinstance(node, MutableMapping):
                raise ConnectError(f"{self.where}: {'.'.join(path)} is not a map; set it up by hand.")
            if part not in node:
                if not create:
                    return None
                node[part] = self._new_map(super_table=True)
            node = node[part]
        if not isinstance(node, MutableMapping):
            raise ConnectError(f"{self.where}: {'.'.join(path[:-1])} is not a map; set it up by hand.")
        return node

    def _new_map(self, super_table: bool = False) -> MutableMapping[str, Any]:
        if self.fmt == "toml":
            return tomlkit.table(is_super_table=super_table)
        if self.fmt == "yaml":
            return CommentedMap()
        return {}

    def _native(self, value: Any) -> Any:
        if self.fmt == "yaml":
            if isinstance(value, Mapping):
                out = CommentedMap()
                for k, v in value.items():
                    out[k] = self._native(v)
                return out
            if isinstance(value, (list, tuple)):
                return CommentedSeq([self._native(v) for v in value])
        if self.fmt == "toml" and isinstance(value, Mapping):
            table = tomlkit.table()
            for k, v in value.items():
                table[k] = self._native(v)
            return table
        if isinstance(value, tuple):
            return [self._native(v) for v in value]
        return value

    # -- ownership ---------------------------------------------------------------------------------

    def current(self, owned: Ownership) -> Any:
        """What the file has where ``owned`` points (for entries: Switchboard's items, or MISSING)."""
        if isinstance(owned, Owned):
            return self.get(owned.path)
        found = self.get(owned.path)
        if not isinstance(found, list):
            return MISSING
        ours = [item for item in found if owned.ours(item)]
        return ours or MISSING

    def put(self, owned: Ownership) -> None:
        """Make the file hold what ``owned`` says."""
        if isinstance(owned, Owned):
            if owned.only_if_missing and self.get(owned.path) is not MISSING:
                return
            self.set(owned.path, owned.value)
            return
        self.put_entries(owned, [dict(i) for i in owned.items])

    def put_entries(self, owned: OwnedEntries, items: list[Any]) -> None:
        """Replace Switchboard's items in the list by ``items`` (the list keeps the user's own)."""
        node = self._parent(owned.path, create=True)
        assert node is not None
        name = owned.path[-1]
        existing = node.get(name)
        if existing is not None and not isinstance(existing, list):
            raise ConnectError(f"{self.where}: {'.'.join(owned.path)} is not a list; set it up by hand.")
        if existing is None:
            if not items:
                return
            node[name] = self._native([])
            existing = node[name]
        keep = [i for i in existing if not owned.ours(i)]
        del existing[:]
        existing.extend(keep)
        existing.extend(self._native(i) for i in items)
        if not existing:
            self.delete(owned.path)

    def give_back(self, owned: Ownership, original: Any) -> None:
        """Undo ``owned``: what the user had there (``original``) again, or nothing."""
        if isinstance(owned, OwnedEntries):
            self.put_entries(owned, list(original) if original is not MISSING else [])
            return
        if original is MISSING:
            self.delete(owned.path)
        else:
            self.set(owned.path, original)

    # -- text --------------------------------------------------------------------------------------

    def text(self) -> str:
        if self.fmt == "json":
            out = json.dumps(self.root, indent=self._indent, ensure_ascii=False)
        elif self.fmt == "toml":
            out = tomlkit.dumps(self.root)
        else:
            assert self._yaml is not None
            buffer = io.StringIO()
            if self.root:
                self._yaml.dump(self.root, buffer)
            out = buffer.getvalue()
        out = out.rstrip("\n")
        return out + "\n" if out and self._trailing_newline else out


def render(fmt: Format, text: str, owned: list[Ownership], where: str) -> str:
    """``text`` with every ``owned`` key set."""
    doc = Doc(fmt, text, where)
    for item in owned:
        doc.put(item)
    return doc.text()

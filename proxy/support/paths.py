"""Where Switchboard keeps its state.

Every file location is resolved here, through one :class:`Home`, so an isolated run
(``--home DIR`` or ``SWITCHBOARD_HOME=DIR``) puts config, database, generated keys and caches
under one directory and never touches the user's own setup.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Switchboard"
HOME_ENV = "SWITCHBOARD_HOME"
CONFIG_ENV = "SWITCHBOARD_CONFIG"


@dataclass(frozen=True)
class Home:
    """The directories one Switchboard installation (or isolated run) uses."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Home:
        """Pick the home: explicit argument, then ``SWITCHBOARD_HOME``, then platform dirs."""
        chosen = home if home is not None else os.environ.get(HOME_ENV) or None
        if chosen is not None:
            root = Path(chosen).expanduser().resolve()
            return cls(root / "config", root / "data", root / "cache")
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        )

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.json"

    @property
    def log_db(self) -> Path:
        return self.data_dir / "requests.db"

    @property
    def access_keys_index(self) -> Path:
        """Names and hashes of the local access keys (never the keys)."""
        return self.data_dir / "access-keys.json"

    @property
    def keys_epoch_file(self) -> Path:
        """Touched when a provider key changes in the keychain, so a running gateway re-reads keys."""
        return self.data_dir / "keys-changed"

    def ensure(self) -> None:
        """Create the directories, private to the user (0700)."""
        for d in (self.config_dir, self.data_dir, self.cache_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)


def resolve_config_path(home: Home, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file in force: ``--config``, then ``SWITCHBOARD_CONFIG``, then the home's."""
    chosen = explicit if explicit is not None else os.environ.get(CONFIG_ENV) or None
    return Path(chosen).expanduser() if chosen is not None else home.config_file


def touch(path: os.PathLike[str]) -> None:
    """Mark a file as changed (creating it): a running gateway watches such markers (the keys epoch)."""
    with open(path, "a"):
        os.utime(path, None)

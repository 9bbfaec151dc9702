"""Owner-only files: the database, its side files (-wal, -shm), the media folder and the backups hold children's
ID numbers, addresses, talk records and photos, so no other local user may read them (0600 files, 0700 folders),
whatever the umask of the shell or service manager that started the bot."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077  # what the process creates from then on: files 0600, folders 0700


def owner_only_umask() -> int:
    """From now on everything this process creates is owner-only; returns the umask it replaced."""
    return os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """`path` as an owner-only folder (made with its parents if missing)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    if path.exists():
        os.chmod(path, FILE_MODE)


def too_wide(path: Path) -> bool:
    """Whether anyone but the owner may read, write or enter it."""
    try:
        return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except FileNotFoundError:
        return False


def tighten(paths: Iterable[Path]) -> list[Path]:
    """Make these files and folders (folders with everything in them) owner-only; returns those that were wider,
    for the warning at start."""
    found = []
    for path in paths:
        if not path.exists():
            continue
        walk = [path] if not path.is_dir() else [path, *path.rglob("*")]
        for item in walk:
            if too_wide(item):
                found.append(item)
            os.chmod(item, DIR_MODE if item.is_dir() else FILE_MODE)
    return found

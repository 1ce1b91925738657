"""Folders and files that hold the user's rows (staged copies, the task database): this user's only.

POSIX modes: folders 0700, files 0600. Windows has no POSIX modes (os.chmod only flips the
read-only flag there); a profile's folders are already its user's alone through their ACLs, so
there the modes are left as they are.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

POSIX_MODES = os.name != "nt"


def create_private_folders(path: Path) -> Path:
    """`path` and any missing folder above it created readable by this user only; folders that
    already exist are left as they are (the one a user chose for the database may be shared)."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe.parent != probe:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        # mkdir's mode does not reach the parents it makes, so each one is made on its own.
        folder.mkdir(mode=0o700, exist_ok=True)
        if POSIX_MODES:
            folder.chmod(0o700)  # a umask may have taken bits we asked for
    return path


def private_folder(path: Path) -> Path:
    """`path` created if missing, readable by this user only (also when an older version or the
    umask made it 0755)."""
    create_private_folders(path)
    if POSIX_MODES:
        path.chmod(0o700)
    return path


def tighten_folder(path: Path) -> None:
    """An existing folder of this app's made private (older versions left it 0755); creates
    nothing, and a folder this user does not own is left alone."""
    if not POSIX_MODES:
        return
    try:
        if path.is_dir() and (path.stat().st_mode & 0o077):
            path.chmod(0o700)
    except OSError as exc:
        log.info("could not make %s private: %s", path, exc)


def private_file(path: Path) -> None:
    if POSIX_MODES:
        path.chmod(0o600)


def tighten_file(path: Path) -> None:
    """`private_file` for a file that may be missing or not this user's (left alone then)."""
    if not POSIX_MODES:
        return
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except FileNotFoundError:
        return
    except OSError as exc:
        log.info("could not make %s private: %s", path, exc)


def create_private_file(path: Path) -> bool:
    """Create `path` empty with mode 0600 (before anything writes to it) unless it exists;
    True when this call created it."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True

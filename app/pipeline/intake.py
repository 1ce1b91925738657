"""What a drop or Browse hands us: supported files found (folders expanded), the rest refused."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.services.reading.detect import EXCEL_EXTENSIONS, SUPPORTED_EXTENSIONS, TEXT_EXTENSIONS

# A folder dropped by mistake (a home directory) must not turn into thousands of tasks.
MAX_FILES_PER_DROP = 500
_HASH_CHUNK = 1024 * 1024

SUPPORTED_LABEL = ", ".join(
    ext.lstrip(".").upper() for ext in sorted(TEXT_EXTENSIONS | EXCEL_EXTENSIONS)
)

# Names for formats people drop by mistake, so the refusal says what the file is.
_KNOWN_FOREIGN = {
    ".pdf": "a PDF document",
    ".docx": "a Word document",
    ".doc": "a Word document",
    ".pptx": "a PowerPoint presentation",
    ".png": "a PNG image",
    ".jpg": "a JPEG image",
    ".jpeg": "a JPEG image",
    ".zip": "a ZIP archive",
    ".json": "a JSON file",
    ".parquet": "a Parquet file",
    ".numbers": "an Apple Numbers document (export it as CSV or Excel first)",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A dropped path we will not make a task of, and why, in words the user can act on."""

    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class Intake:
    accepted: tuple[Path, ...]
    refused: tuple[Refusal, ...]


def is_supported_name(path: Path) -> bool:
    """By name only: `.csv.gz` and friends count; the reader checks the bytes later."""
    suffixes = [s.lower() for s in path.suffixes]
    if not suffixes or suffixes[-1] not in SUPPORTED_EXTENSIONS:
        return False
    if suffixes[-1] == ".gz":
        return len(suffixes) >= 2 and suffixes[-2] in TEXT_EXTENSIONS
    return True


def shown_name(path: Path) -> str:
    """The name for a message: bytes that are not text (a name from another system's
    encoding) shown as U+FFFD instead of failing whatever prints or stores the message."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def refusal_reason(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".gz":
        what = "a compressed file that is not a compressed CSV/TSV/TXT"
    elif suffix in _KNOWN_FOREIGN:
        what = _KNOWN_FOREIGN[suffix]
    elif suffix:
        what = f"a {suffix} file"
    else:
        what = "a file without an extension"
    return f"{shown_name(path)} is {what}; Ingest Desk reads {SUPPORTED_LABEL} (and .csv.gz)."


def _entry_problem(path: Path) -> str | None:
    """Why this entry cannot become a task although its name looks right, or None."""
    name = shown_name(path)
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        # The task store, S3 metadata and the window all need the path as text.
        return (
            f"{name}: its name (or its folder's) holds bytes that are not text; rename it and "
            "add it again."
        )
    try:
        mode = path.stat().st_mode  # follows links: a link to a real file is fine
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
            return f"{name} is a link that loops back on itself."
        return f"{name} cannot be opened ({getattr(exc, 'strerror', None) or exc})."
    if stat.S_ISDIR(mode):
        return f"{name} is a link to a folder; drop the folder itself."
    if not stat.S_ISREG(mode):
        # A pipe or device would block the reader forever, or read endlessly.
        return f"{name} is a pipe, socket or device, not a file."
    return None


def collect_sources(paths: Iterable[Path], *, limit: int = MAX_FILES_PER_DROP) -> Intake:
    """Expand folders (recursively, hidden entries skipped) and sort supported files from others.

    One bad entry (a looping link, a pipe, an unreadable folder, a name that is not text) is
    refused with its reason; the rest of the drop goes on."""
    accepted: list[Path] = []
    refused: list[Refusal] = []
    seen: set[Path] = set()

    def consider(path: Path) -> None:
        problem = _entry_problem(path) if is_supported_name(path) else None
        if problem:
            refused.append(Refusal(path, problem))
            return
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a loop elsewhere in the path
            resolved = path.absolute()
        if resolved in seen:
            return
        seen.add(resolved)
        if not is_supported_name(path):
            refused.append(Refusal(path, refusal_reason(path)))
        elif len(accepted) >= limit:
            refused.append(
                Refusal(path, f"{shown_name(path)}: more than {limit} files in one drop.")
            )
        else:
            accepted.append(path)

    def unreadable(error: OSError) -> None:
        folder = Path(error.filename or "")
        refused.append(Refusal(folder, f"The folder {shown_name(folder)} cannot be read."))

    for path in paths:
        if path.is_dir():
            found = 0
            # followlinks=False (the default, stated): a link to a parent folder never loops.
            for root, dirs, files in os.walk(path, onerror=unreadable, followlinks=False):
                # Hidden folders hold caches and version control, never the user's data.
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith(".") or name.startswith("~$"):
                        continue  # Office lock files and hidden files
                    found += 1
                    consider(Path(root) / name)
            if found == 0:
                refused.append(Refusal(path, f"The folder {shown_name(path)} holds no files."))
        elif path.is_file() or path.is_symlink() or path.exists():
            consider(path)
        else:
            refused.append(
                Refusal(path, f"{shown_name(path)} does not exist or is not a file.")
            )
    return Intake(tuple(accepted), tuple(refused))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def datasource_slug(file_name: str) -> str:
    """A Druid-friendly default datasource name from a file name: `Sales Q1 (final).xlsx` ->
    `sales_q1_final`."""
    stem = file_name
    for _ in range(2):  # `orders.csv.gz` -> `orders`
        head, dot, tail = stem.rpartition(".")
        if dot and head and f".{tail.lower()}" in SUPPORTED_EXTENSIONS:
            stem = head
    ascii_name = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    return slug or "datasource"

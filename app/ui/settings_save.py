"""Saving Settings all or nothing, and the offer to keep secrets in memory when no keyring will."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.services.secrets import (
    Secret,
    SecretChange,
    SecretStoreError,
    save_settings_with_secrets,
)
from app.services.settings import Settings
from app.ui.task_format import TONE_COLORS, Tone
from app.ui.workers import WorkerContext

NO_KEYRING_NOTE = (
    "This computer has no OS keyring, so passwords and keys cannot be saved. If you enter "
    "one, you can keep it in memory until Ingest Desk closes."
)


@dataclass(frozen=True, slots=True)
class SavedSettings:
    """What Save wrote, and which connections changed (they apply after a restart)."""

    settings: Settings
    database_changed: bool
    s3_changed: bool
    druid_changed: bool
    # Secrets no keyring would keep: used until the app closes, entered again after that.
    held_in_memory: frozenset[Secret] = frozenset()

    @property
    def restart_needed(self) -> bool:
        return self.database_changed or self.s3_changed or self.druid_changed


@dataclass(frozen=True, slots=True)
class KeyringRefusal:
    """Save stopped before anything was written: the keyring would not keep these secrets."""

    message: str
    secrets: frozenset[Secret]


@dataclass(frozen=True, slots=True)
class PreparedSave:
    """Read from the widgets on the GUI thread; written on a pool thread."""

    settings: Settings
    changes: tuple[SecretChange, ...]
    result: SavedSettings


def write_operation(
    prepared: PreparedSave, *, keep: frozenset[str], in_memory: bool
) -> Callable[[WorkerContext[None]], SavedSettings | KeyringRefusal]:
    """Secrets first, the file only once they are stored; a refusal changes nothing."""
    typed = frozenset(change.secret for change in prepared.changes if change.value)
    result = prepared.result
    if in_memory:
        result = dataclasses.replace(result, held_in_memory=typed)

    def write(_ctx: WorkerContext[None]) -> SavedSettings | KeyringRefusal:
        try:
            save_settings_with_secrets(
                prepared.settings, prepared.changes, keep=keep, in_memory=in_memory
            )
        except SecretStoreError as exc:
            return KeyringRefusal(str(exc), typed)
        return result

    return write


def held_sentence(held: frozenset[Secret]) -> str:
    """For the window once saved: which secrets last only until the app closes."""
    one = len(held) == 1
    return (
        f"{secret_names(held)[0].upper()}{secret_names(held)[1:]} "
        f"{'is' if one else 'are'} kept in memory only until Ingest Desk closes (no OS "
        f"keyring here): enter {'it' if one else 'them'} again in Settings after the next start."
    )


def secret_names(secrets: frozenset[Secret]) -> str:
    """"the database password and the Druid password", in the order the dialog shows them."""
    names = [f"the {s.label}" for s in Secret if s in secrets]
    if len(names) <= 1:
        return names[0] if names else "the secrets"
    return f"{', '.join(names[:-1])} and {names[-1]}"


def no_keyring_note() -> QLabel:
    """Shown from the start on a machine without a keyring, before anything is refused."""
    note = QLabel(NO_KEYRING_NOTE)
    note.setWordWrap(True)
    note.setAccessibleName("No OS keyring")
    note.setStyleSheet(f"color: {TONE_COLORS[Tone.ATTENTION]};")
    note.hide()
    return note


class MemoryOffer(QFrame):
    """Says plainly what was not saved and offers to keep the secrets until the app closes."""

    keepRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoryOffer")
        self.setAccessibleName("Keep secrets in memory")
        self.setStyleSheet(
            f"QFrame#memoryOffer {{ border-left: 4px solid {TONE_COLORS[Tone.ATTENTION]}; "
            "background: palette(alternate-base); }"
        )
        self.question = QLabel()
        self.question.setWordWrap(True)
        self.keep_button = QPushButton("&Keep in memory until I quit")
        self.keep_button.setToolTip(
            "Save the settings file without these secrets and use them until Ingest Desk "
            "closes; enter them again after the next start (Alt+K)"
        )
        # Enter in a field tests its section; this choice is only ever a deliberate click.
        self.keep_button.setAutoDefault(False)
        self.keep_button.clicked.connect(self.keepRequested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.keep_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.question)
        layout.addLayout(row)
        self.hide()

    def offer(self, secrets: frozenset[Secret]) -> None:
        them = "it" if len(secrets) == 1 else "them"
        self.question.setText(
            f"Keep {secret_names(secrets)} in memory instead? The settings are saved without "
            f"{them}, Ingest Desk uses {them} until it closes, and you will need to enter "
            f"{them} again in Settings the next time it starts."
        )
        self.show()
        self.keep_button.setFocus()  # one Space away for a keyboard user who pressed Save

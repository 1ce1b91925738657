"""Settings: PostgreSQL, S3 and Druid connections, each testable; secrets go to the OS keyring."""

from __future__ import annotations

import enum
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.pipeline.connections import probe_database, probe_druid, probe_s3
from app.services.secrets import (
    Secret,
    SecretChange,
    held_in_memory,
    keyring_missing,
    split_database_password,
    stored_secrets,
)
from app.services.settings import ENV_PREFIX, Settings, env_overrides
from app.ui.connection_section import (
    ConnectionSection,
    Probe,
    SchemeHint,
    first_field,
    line_edit,
    missing_scheme,
    two_columns,
)
from app.ui.desktop_section import DesktopSection
from app.ui.settings_save import (
    KeyringRefusal,
    MemoryOffer,
    PreparedSave,
    SavedSettings,
    no_keyring_note,
    write_operation,
)
from app.ui.task_format import TONE_COLORS, Tone
from app.ui.workers import WorkerFailure, WorkerPool

_DATABASE_FIELDS = frozenset({"database_url"})
_S3_FIELDS = frozenset(
    {"s3_bucket", "s3_prefix", "s3_endpoint_url", "s3_region", "s3_profile", "s3_path_style",
     "s3_sse", "s3_kms_key_id"}
)
_DRUID_FIELDS = frozenset({"druid_url", "druid_username", "druid_verify_tls"})
_SSE_CHOICES = (("None", "none"), ("SSE-S3 (AES256)", "AES256"), ("SSE-KMS (aws:kms)", "aws:kms"))
_STORED = "Stored in the OS keyring; type to replace"
_NOT_STORED = "Not stored"
_FORGET = "Removed from the keyring when you save"
_HELD = "Kept in memory until Ingest Desk closes; type to replace"


class Section(enum.Enum):
    DATABASE = "database"
    S3 = "s3"
    DRUID = "druid"


def _text(edit: QLineEdit) -> str | None:
    value = edit.text().strip()
    return value or None


class SettingsDialog(QDialog):
    """Edits a copy of the settings; Save writes the TOML file and keyring off the GUI thread."""

    saved = Signal(SavedSettings)
    secretsLoaded = Signal()

    def __init__(self, settings: Settings, workers: WorkerPool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        self.setObjectName("settingsDialog")
        self._original = settings
        self._workers = workers
        self._env = env_overrides()
        self._stored: frozenset[Secret] = frozenset()
        self._held: frozenset[Secret] = frozenset()
        self._forget: set[Secret] = set()
        self._secret_edits: dict[Secret, QLineEdit] = {}
        self._saving = False

        self.database = ConnectionSection(
            "Task database",
            "Where tasks are kept. Leave the URL empty for the embedded single-user store on this "
            "computer; a shared PostgreSQL database lets colleagues see every task live.",
            workers, lambda: self._probe(Section.DATABASE),
        )
        self.database_url = line_edit(
            "PostgreSQL URL",
            "postgresql+psycopg://user@host:5432/database, without the password",
            "Empty: embedded store (only you)",
        )
        self.database_password = self._secret_edit(Secret.DATABASE_PASSWORD, "Database password")
        self.database.form.addRow("PostgreSQL URL", self.database_url)
        self.database.form.addRow("Password", self.database_password)
        self.database_note = QLabel("A new task database is used after Ingest Desk restarts.")
        self.database_note.setStyleSheet(f"color: {TONE_COLORS[Tone.ATTENTION]};")
        self.database_note.hide()
        self.database.form.addRow(self.database_note)

        self.s3 = ConnectionSection(
            "S3",
            "Where validated files are staged for Druid to read. Without it, valid files stop "
            "before the upload.",
            workers, lambda: self._probe(Section.S3),
        )
        self.s3_bucket = line_edit("Bucket", "The bucket staging files are uploaded to")
        self.s3_prefix = line_edit("Key prefix", "Folder inside the bucket", "ingest-desk")
        self.s3_endpoint = line_edit(
            "Endpoint URL", "Only for S3-compatible stores (MinIO, Ceph…)", "Empty: AWS S3"
        )
        self.s3_region = line_edit("Region", "The bucket's region", "us-east-1")
        self.s3_profile = line_edit(
            "AWS profile", "A profile from ~/.aws/config; it wins over stored keys",
            "Empty: the keys below or the environment",
        )
        self.s3_path_style = QCheckBox("Path-style addressing")
        self.s3_path_style.setToolTip("Needed by most S3-compatible stores (MinIO, moto)")
        self.s3_sse = QComboBox()
        self.s3_sse.setAccessibleName("Server-side encryption")
        self.s3_sse.setToolTip("How S3 encrypts the staging files at rest")
        for label, value in _SSE_CHOICES:
            self.s3_sse.addItem(label, value)
        self.s3_kms_key = line_edit(
            "KMS key id", "The KMS key for SSE-KMS", "Empty: the AWS managed key"
        )
        self.s3_access_key = self._secret_edit(Secret.S3_ACCESS_KEY_ID, "Access key id")
        self.s3_secret_key = self._secret_edit(Secret.S3_SECRET_ACCESS_KEY, "Secret access key")
        self.s3_endpoint_hint = SchemeHint(self.s3_endpoint, "Endpoint")
        self.s3.hints = (self.s3_endpoint_hint,)
        self.s3.form.addRow(two_columns([
            ("Bucket", self.s3_bucket), ("Key prefix", self.s3_prefix),
            ("Endpoint", self.s3_endpoint), ("Region", self.s3_region),
            ("Profile", self.s3_profile), ("", self.s3_path_style),
            ("Encryption", self.s3_sse), ("KMS key", self.s3_kms_key),
            ("Access key id", self.s3_access_key), ("Secret key", self.s3_secret_key),
        ]))
        self.s3.form.addRow(self.s3_endpoint_hint)

        self.druid = ConnectionSection(
            "Druid",
            "The cluster that loads the staged files: its router (or Overlord) URL.",
            workers, lambda: self._probe(Section.DRUID),
        )
        self.druid_url = line_edit("Druid URL", "The router's URL", "https://druid.example.com")
        self.druid_username = line_edit("Druid user", "Leave empty when Druid needs no login")
        self.druid_password = self._secret_edit(Secret.DRUID_PASSWORD, "Druid password")
        self.druid_verify_tls = QCheckBox("Verify TLS certificates")
        self.druid_verify_tls.setToolTip(
            "Turn off only for a test cluster with a self-signed certificate"
        )
        self.druid_url_hint = SchemeHint(self.druid_url)
        self.druid.hints = (self.druid_url_hint,)
        self.druid.form.addRow("URL", self.druid_url)
        self.druid.form.addRow("", self.druid_url_hint)
        druid_login = QGridLayout()
        druid_login.addWidget(self.druid_username, 0, 0)
        druid_login.addWidget(QLabel("Password"), 0, 1)
        druid_login.addWidget(self.druid_password, 0, 2)
        self.druid.form.addRow("User", druid_login)
        self.druid.form.addRow("", self.druid_verify_tls)

        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {TONE_COLORS[Tone.ERROR]};")
        self.problem.setAccessibleName("Problem saving settings")
        self.problem.hide()
        self.keyring_note = no_keyring_note()
        self.offer = MemoryOffer()
        self.offer.keepRequested.connect(self.keep_in_memory)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setToolTip("Write the settings file and store the secrets in the keyring")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        save_keys = QAction("Save", self)
        save_keys.setShortcut(QKeySequence.StandardKey.Save)
        save_keys.triggered.connect(self.save)
        self.addAction(save_keys)

        layout = QVBoxLayout(self)
        self.desktop = DesktopSection()
        for section in (self.database, self.s3, self.druid, self.desktop):
            layout.addWidget(section)
        layout.addStretch(1)  # a taller window grows empty space, not gaps inside the groups
        layout.addWidget(self.keyring_note)
        layout.addWidget(self.problem)
        layout.addWidget(self.offer)
        layout.addWidget(self.buttons)
        # Each Test button after the fields it tries (the sections make it before their fields).
        for last_field, section in (
            (self.database_password, self.database),
            (self.s3_secret_key, self.s3),
            (self.druid_verify_tls, self.druid),
        ):
            QWidget.setTabOrder(last_field, section.test_button)
        # Narrower, the S3 grid's placeholders are cut and the wrapped intros need more height
        # than a top-level window's layout asks for.
        self.setMinimumWidth(720)
        self.resize(760, self.sizeHint().height())

        self._load(settings)
        self.database_url.textChanged.connect(self._database_edited)
        self.database_password.textChanged.connect(self._database_edited)
        self.s3_sse.currentIndexChanged.connect(self._sse_changed)
        self._sse_changed()
        self._load_secret_state()

    # -- construction --------------------------------------------------------------------------

    def _secret_edit(self, secret: Secret, name: str) -> QLineEdit:
        edit = line_edit(name, f"{name}: kept in the OS keyring, never in a file", "…", secret=True)
        forget = QAction(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogDiscardButton),
                         f"Forget the stored {name.lower()}", edit)
        forget.setToolTip(f"Forget the stored {name.lower()} when you save")
        forget.triggered.connect(lambda: self._mark_forgotten(secret))
        edit.addAction(forget, QLineEdit.ActionPosition.TrailingPosition)
        # Hidden only after adding: QLineEdit shows an action that was hidden when added.
        forget.setVisible(False)
        edit.textEdited.connect(lambda _text: self._forget.discard(secret))
        self._secret_edits[secret] = edit
        return edit

    def _fields(self) -> dict[str, QWidget]:
        return {
            "database_url": self.database_url,
            "s3_bucket": self.s3_bucket, "s3_prefix": self.s3_prefix,
            "s3_endpoint_url": self.s3_endpoint, "s3_region": self.s3_region,
            "s3_profile": self.s3_profile, "s3_path_style": self.s3_path_style,
            "s3_sse": self.s3_sse, "s3_kms_key_id": self.s3_kms_key,
            "druid_url": self.druid_url, "druid_username": self.druid_username,
            "druid_verify_tls": self.druid_verify_tls,
            **self.desktop.fields(),
        }

    def _load(self, settings: Settings) -> None:
        for name, widget in self._fields().items():
            value = getattr(settings, name)
            if isinstance(widget, QLineEdit):
                widget.setText("" if value is None else str(value))
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox):
                widget.setCurrentIndex(max(0, widget.findData(value)))
            if name in self._env:
                # The environment beats the file; editing here could not change what runs.
                widget.setEnabled(False)
                widget.setToolTip(f"Set by {ENV_PREFIX}{name.upper()}, which wins over this file")

    def _load_secret_state(self) -> None:
        # The keyring may be a D-Bus service or prompt the user: only ever asked off the GUI.
        for edit in self._secret_edits.values():
            edit.setPlaceholderText("Checking the keyring…")
        self._workers.start(
            "read the keyring",
            lambda _ctx: (stored_secrets(), held_in_memory(), keyring_missing()),
            on_finished=self._secrets_known, on_failed=self._secrets_unknown,
        )

    @Slot(object)
    def _secrets_known(self, known: tuple[frozenset[Secret], frozenset[Secret], bool]) -> None:
        self._stored, self._held, missing = known
        self.keyring_note.setVisible(missing)
        self._fit_height()
        for secret, edit in self._secret_edits.items():
            self._show_secret_state(secret, edit)
        self.secretsLoaded.emit()

    @Slot(WorkerFailure)
    def _secrets_unknown(self, failure: WorkerFailure) -> None:
        for edit in self._secret_edits.values():
            edit.setPlaceholderText("The OS keyring is not available")
        self.secretsLoaded.emit()

    def _show_secret_state(self, secret: Secret, edit: QLineEdit) -> None:
        forgotten = secret in self._forget
        stored = secret in self._stored and not forgotten
        held = stored and secret in self._held
        edit.setPlaceholderText(
            _FORGET if forgotten else _HELD if held else _STORED if stored else _NOT_STORED
        )
        for action in edit.actions():
            action.setVisible(stored)

    def _mark_forgotten(self, secret: Secret) -> None:
        self._forget.add(secret)
        edit = self._secret_edits[secret]
        edit.clear()
        self._show_secret_state(secret, edit)
        if secret is Secret.DATABASE_PASSWORD:
            self._database_edited()

    @Slot()
    def _database_edited(self) -> None:
        changed = (
            _text(self.database_url) != self._original.database_url
            or bool(self.database_password.text())
            or Secret.DATABASE_PASSWORD in self._forget
        )
        self.database_note.setVisible(changed)

    @Slot()
    def _sse_changed(self) -> None:
        self.s3_kms_key.setEnabled(
            self.s3_sse.currentData() == "aws:kms" and "s3_kms_key_id" not in self._env
        )

    # -- values --------------------------------------------------------------------------------

    def candidate(self) -> Settings:
        """The settings as typed (not saved); the environment's values where it sets them."""
        values: dict[str, Any] = {}
        for name, widget in self._fields().items():
            if isinstance(widget, QLineEdit):
                values[name] = _text(widget)
            elif isinstance(widget, QCheckBox):
                values[name] = widget.isChecked()
            elif isinstance(widget, QComboBox):
                values[name] = widget.currentData()
        values["s3_prefix"] = values["s3_prefix"] or "ingest-desk"
        if values["s3_sse"] != "aws:kms":
            values["s3_kms_key_id"] = None
        return self._original.model_copy(update=values)

    def _typed(self, secret: Secret) -> str | None:
        return self._secret_edits[secret].text() or None

    def _probe(self, section: Section) -> Probe:
        """Captures the values now, on the GUI thread; the returned operation reads no widget."""
        candidate = self.candidate()
        if section is Section.DATABASE:
            password = self._typed(Secret.DATABASE_PASSWORD)
            return lambda _ctx: probe_database(candidate, password)
        if section is Section.S3:
            access, secret = self._typed(Secret.S3_ACCESS_KEY_ID), self._typed(
                Secret.S3_SECRET_ACCESS_KEY
            )
            return lambda _ctx: probe_s3(candidate, access, secret)
        druid_password = self._typed(Secret.DRUID_PASSWORD)
        return lambda _ctx: probe_druid(candidate, druid_password)

    def _problems(self, candidate: Settings) -> list[tuple[ConnectionSection, str]]:
        found: list[tuple[ConnectionSection, str]] = []
        for url, section, name in (
            (candidate.s3_endpoint_url, self.s3, "The S3 endpoint"),
            (candidate.druid_url, self.druid, "The Druid URL"),
        ):
            if url and missing_scheme(url):
                example = "" if "://" in url else f" (for example http://{url})"
                found.append((section, f"{name} must start with http:// or https://{example}"))
        access, secret = Secret.S3_ACCESS_KEY_ID, Secret.S3_SECRET_ACCESS_KEY
        if bool(self._typed(access)) != bool(self._typed(secret)) and not (
            {access, secret} <= self._stored
        ):
            found.append((self.s3, "Enter both the access key id and the secret access key."))
        return found

    # -- saving --------------------------------------------------------------------------------

    @Slot()
    def save(self) -> None:
        """Secrets first, the settings file only once they are stored: all or nothing."""
        self._write(in_memory=False)

    @Slot()
    def keep_in_memory(self) -> None:
        """The file without the secrets; the secrets for this run only (no keyring keeps them)."""
        self._write(in_memory=True)

    def _write(self, *, in_memory: bool) -> None:
        if self._saving:
            return
        prepared = self._prepare()
        if prepared is None:
            return
        self._set_saving(True)
        self.problem.hide()
        self.offer.hide()
        self._workers.start(
            "save the settings", write_operation(prepared, keep=self._env, in_memory=in_memory),
            on_finished=self._saved, on_failed=self._save_failed,
        )

    def _prepare(self) -> PreparedSave | None:
        candidate = self.candidate()
        problems = self._problems(candidate)
        for section, message in problems:
            section.show_problem(message)
        if problems:
            return None
        changes = [
            SecretChange(secret, edit.text())
            for secret, edit in self._secret_edits.items()
            if edit.text()
        ]
        changes += [SecretChange(secret, None) for secret in self._forget]
        if candidate.database_url:
            # A password pasted into the URL goes to the keyring, not into the file.
            bare, password = split_database_password(candidate.database_url)
            if password is not None:
                candidate = candidate.model_copy(update={"database_url": bare})
                changes.append(SecretChange(Secret.DATABASE_PASSWORD, password))
                self.database_url.setText(bare)
                self.database_password.setText(password)  # kept for a second try
        touched = {change.secret for change in changes}
        result = SavedSettings(
            settings=candidate,
            database_changed=self._changed(candidate, _DATABASE_FIELDS)
            or Secret.DATABASE_PASSWORD in touched,
            s3_changed=self._changed(candidate, _S3_FIELDS)
            or bool(touched & {Secret.S3_ACCESS_KEY_ID, Secret.S3_SECRET_ACCESS_KEY}),
            druid_changed=self._changed(candidate, _DRUID_FIELDS)
            or Secret.DRUID_PASSWORD in touched,
        )
        return PreparedSave(candidate, tuple(changes), result)

    def _changed(self, candidate: Settings, fields: frozenset[str]) -> bool:
        return any(getattr(candidate, f) != getattr(self._original, f) for f in fields)

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        self.save_button.setEnabled(not saving)
        self.save_button.setText("Saving…" if saving else "Save")

    @Slot(object)
    def _saved(self, outcome: SavedSettings | KeyringRefusal) -> None:
        self._set_saving(False)
        if isinstance(outcome, KeyringRefusal):
            self.problem.setText(f"{outcome.message} The settings were not changed.")
            self.problem.show()
            self.keyring_note.hide()  # the problem says it now, with what was not saved
            if outcome.secrets:
                self.offer.offer(outcome.secrets)
            self._fit_height()
            return
        result = outcome
        for edit in self._secret_edits.values():
            edit.clear()  # the keyring has them now; the widget should not keep a copy
        self.saved.emit(result)
        self.accept()

    @Slot(WorkerFailure)
    def _save_failed(self, failure: WorkerFailure) -> None:
        self._set_saving(False)
        self.problem.setText(f"Could not save the settings: {failure.message}")
        self.problem.show()
        self._fit_height()

    def _fit_height(self) -> None:
        # A message shown below the sections must not squeeze the S3 grid: the window grows.
        layout = self.layout()
        wanted = layout.totalHeightForWidth(self.width()) if layout is not None else 0
        if wanted > self.height():
            self.resize(self.width(), wanted)

    # -- keyboard ------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Typing starts in the first field, not on a button (Save or a Test).
        first = first_field(self)
        if first is not None:
            first.setFocus(Qt.FocusReason.OtherFocusReason)

    def section_with_focus(self) -> ConnectionSection | None:
        focus = QApplication.focusWidget()
        for section in (self.database, self.s3, self.druid):
            if focus is not None and section.isAncestorOf(focus):
                return section
        return None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Enter tests the section being edited; Save stays a deliberate click (or Ctrl+S).
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            section = self.section_with_focus()
            if section is not None:
                section.test()
                event.accept()
                return
        super().keyPressEvent(event)

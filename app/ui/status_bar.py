"""The status bar: where tasks are stored, whether the feed is live, and S3/Druid health."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.domain.store import FeedStatus
from app.pipeline.connections import ConnectionCheck, Outcome
from app.pipeline.session import ConnectionInfo, SessionInfo
from app.ui.task_format import TONE_COLORS, Tone

_FEED_TEXT = {
    FeedStatus.CONNECTING: ("Connecting…", Tone.NEUTRAL),
    FeedStatus.LIVE: ("Live", Tone.SUCCESS),
    FeedStatus.RECONNECTING: ("Reconnecting…", Tone.ATTENTION),
    FeedStatus.STOPPED: ("Stopped", Tone.NEUTRAL),
}

_HEALTH = {
    Outcome.OK: ("reachable", Tone.SUCCESS),
    Outcome.WARNING: ("needs attention", Tone.ATTENTION),
    Outcome.FAILED: ("unreachable", Tone.ERROR),
}


def _label(name: str) -> QLabel:
    label = QLabel()
    label.setAccessibleName(name)
    label.setContentsMargins(6, 0, 6, 0)
    return label


class DeskStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.database = _label("Task database")
        self.feed = _label("Live updates")
        self.s3 = _label("S3 connection")
        self.druid = _label("Druid connection")
        for widget in (self.database, self.feed, self.s3, self.druid):
            self.addPermanentWidget(widget)
        self.database.setText("Database: opening…")
        self.show_feed_status(FeedStatus.CONNECTING)

    def show_session(self, info: SessionInfo) -> None:
        db = info.database
        self.database.setStyleSheet("")  # an earlier failure's colour
        if db.instead_of:
            self.database.setText("This computer only (for now)")
            self.database.setStyleSheet(f"color: {TONE_COLORS[Tone.ATTENTION]};")
            self.database.setToolTip(
                f"The shared task database {db.instead_of} could not be reached; this run keeps "
                f"tasks in {db.location}. The next start connects to the shared one again."
            )
        elif db.shared:
            self.database.setText(f"PostgreSQL: {db.location}")
            self.database.setToolTip("Shared task store: every client sees every task.")
        else:
            # The full path is long; the label names the mode and the tooltip says where.
            self.database.setText("Embedded SQLite (single user)")
            self.database.setToolTip(
                f"Tasks live in {db.location} on this computer. Set a PostgreSQL database URL "
                "(INGEST_DESK_DATABASE_URL) to share tasks with colleagues."
            )
        self.show_connections(info.s3, info.druid)

    def show_connections(
        self, s3: ConnectionInfo, druid: ConnectionInfo, *, pending_restart: bool = False
    ) -> None:
        """Refreshed after Settings is saved; the running session keeps the old ones until a
        restart, and the labels say so rather than claim a connection that is not in use."""
        self._connection(self.s3, s3, pending_restart)
        self._connection(self.druid, druid, pending_restart)

    def show_health(self, check: ConnectionCheck) -> None:
        """A probe's verdict for a connection in use: reachable, usable with a caveat, or not."""
        label = {"s3": self.s3, "druid": self.druid}.get(check.service)
        if label is None:
            return
        name = "S3" if check.service == "s3" else "Druid"
        word, tone = _HEALTH[check.outcome]
        label.setText(f"{name}: ● {word}")
        label.setStyleSheet(f"color: {TONE_COLORS[tone]};")
        hint = f" {check.hint}" if check.hint else ""
        label.setToolTip(f"{check.message}{hint} (checked every minute)")

    def show_database_error(self, message: str) -> None:
        self.database.setText("Database: unavailable")
        self.database.setStyleSheet(f"color: {TONE_COLORS[Tone.ERROR]};")
        self.database.setToolTip(message)
        self.show_feed_status(FeedStatus.STOPPED)  # nothing to follow until a store opens

    def show_feed_status(self, status: FeedStatus) -> None:
        text, tone = _FEED_TEXT[status]
        self.feed.setText(f"● {text}")
        self.feed.setStyleSheet(f"color: {TONE_COLORS[tone]};")
        self.feed.setToolTip("Task changes from the store appear without a refresh.")

    @staticmethod
    def _connection(label: QLabel, info: ConnectionInfo, pending_restart: bool = False) -> None:
        state = "configured" if info.configured else "not configured"
        label.setText(f"{info.name}: {state}{' (after restart)' if pending_restart else ''}")
        tone = Tone.SUCCESS if info.configured else Tone.NEUTRAL
        label.setStyleSheet(f"color: {TONE_COLORS[Tone.ATTENTION if pending_restart else tone]};")
        hint = "" if info.configured else " Open Settings (Ctrl+,) to connect it."
        if pending_restart:
            hint = " Saved in Settings; used after Ingest Desk restarts."
        label.setToolTip(f"{info.name}: {info.detail}.{hint}")

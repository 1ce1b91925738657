"""The details panel's Druid tab: a Druid task's state, row counts, log and spec."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QFontDatabase,
    QGuiApplication,
    QResizeEvent,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.druid import DruidTaskState, RowStats
from app.pipeline.druid_view import LOG_LINES, DruidTaskView, SpecSource
from app.ui.shortcuts import key_text, keyed_action
from app.ui.task_format import TONE_COLORS, Tone, human_duration, local_time

NOT_CONFIGURED = (
    "Druid is not configured on this desk: add its URL in Settings to see each task's Druid "
    "status, row counts, spec and log here."
)
NEEDS_CONNECTION = (
    "This desk reads Druid through its upload connection, which needs S3 configured in "
    "Settings as well as Druid (a change applies after a restart)."
)
NOT_SUBMITTED = "This task has not been submitted to Druid yet; its Druid task appears here then."
NO_SELECTION = "Select a task to see its Druid side."
OPENING = "Connecting to the task database…"
NO_LOG = (
    "Druid keeps no log for this task: an Indexer (unlike a MiddleManager) writes task logs "
    "into its own log, so ask the cluster's operator."
)
LOG_UNANSWERED = "Druid did not return the task log this time; Refresh asks again."
_STATE_TONES = {
    DruidTaskState.WAITING: Tone.NEUTRAL,
    DruidTaskState.PENDING: Tone.NEUTRAL,
    DruidTaskState.RUNNING: Tone.ACTIVE,
    DruidTaskState.SUCCESS: Tone.SUCCESS,
    DruidTaskState.FAILED: Tone.ERROR,
    DruidTaskState.UNKNOWN: Tone.ATTENTION,
}
_STAT_NAMES = (
    ("processed", "Processed"),
    ("processed_with_error", "With errors"),
    ("thrown_away", "Thrown away"),
    ("unparseable", "Unparseable"),
)


class _FitLayout(QVBoxLayout):
    """A column that fills its scroll area instead of asking for its wrapped labels' preferred
    height: with height-for-width, QScrollArea sizes the content to that preferred height and
    scrolls the log's end out of sight even where the panes could simply be shorter."""

    def hasHeightForWidth(self) -> bool:
        return False


class _TailView(QPlainTextEdit):
    """A read-only text that stays at its end while resized, as a terminal does."""

    def resizeEvent(self, event: QResizeEvent) -> None:
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum()
        super().resizeEvent(event)
        if at_end:
            bar.setValue(bar.maximum())


def _monospace(name: str, *, wrap: bool) -> QPlainTextEdit:
    text = _TailView() if wrap else QPlainTextEdit()
    text.setReadOnly(True)
    text.setAccessibleName(name)
    # Log lines wrap (the message is at their end); JSON keeps its indentation readable.
    text.setLineWrapMode(
        QPlainTextEdit.LineWrapMode.WidgetWidth if wrap else QPlainTextEdit.LineWrapMode.NoWrap
    )
    text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return text


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def _toned(label: QLabel, tone: Tone, bold: bool = False) -> None:
    weight = " font-weight: 600;" if bold else ""
    label.setStyleSheet(f"color: {TONE_COLORS[tone]};{weight}")


class DruidSection(QWidget):
    """Shows one DruidTaskView; the presenter decides what to fetch and when."""

    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Druid task")
        # Druid's words, datasource and column names come from elsewhere: plain text, not markup.
        self.message = QLabel(NO_SELECTION)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.task_id_field = QLineEdit()
        self.task_id_field.setReadOnly(True)
        self.task_id_field.setAccessibleName("Druid task id")
        self.copy_id_action = keyed_action(
            self, "Copy id", "Ctrl+Shift+I", "Copy the Druid task id to the clipboard"
        )
        self.copy_id_action.triggered.connect(lambda: copy_text(self.task_id_field.text()))
        self.copy_id_button = QToolButton()
        self.copy_id_button.setDefaultAction(self.copy_id_action)
        self.console_button = QToolButton()  # given the window's action by the presenter
        self.console_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.console_button.hide()
        self.refresh_action = keyed_action(self, "Refresh", "F5", "Ask Druid again about this task")
        self.refresh_action.triggered.connect(self.refreshRequested)
        self.refresh_button = QToolButton()
        self.refresh_button.setDefaultAction(self.refresh_action)
        ids = QHBoxLayout()
        ids.addWidget(QLabel("Druid task"))
        ids.addWidget(self.task_id_field, 1)
        ids.addWidget(self.copy_id_button)
        ids.addWidget(self.console_button)
        ids.addWidget(self.refresh_button)

        self.state_label = QLabel()
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        self.state_label.setAccessibleName("Druid state")
        self.facts_label = QLabel()
        self.facts_label.setTextFormat(Qt.TextFormat.PlainText)
        self.facts_label.setAccessibleName("Duration and location")
        self.facts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts_label.setStyleSheet("color: palette(placeholder-text);")
        # In a narrow panel the facts give way (cut, full text in the tooltip), not the counts.
        self.facts_label.setMinimumWidth(40)
        status = QHBoxLayout()
        status.addWidget(self.state_label)
        status.addWidget(self.facts_label, 1)
        self.problem_label = self._sentence("Why Druid could not be asked", Tone.ATTENTION)
        self.error_label = self._sentence("Druid's error", Tone.ERROR)
        self.compaction_label = self._sentence("Compaction advice", Tone.ATTENTION)
        self.compaction_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )

        self.stat_values: dict[str, QLabel] = {}
        stats = QHBoxLayout()
        stats.setContentsMargins(0, 0, 0, 0)
        for field, caption in _STAT_NAMES:
            name = QLabel(caption)
            name.setStyleSheet("color: palette(placeholder-text);")
            value = QLabel()
            value.setAccessibleName(f"Rows {caption.lower()}")
            value.setStyleSheet("font-weight: 600;")
            stats.addSpacing(12)
            stats.addWidget(name)
            stats.addWidget(value)
            self.stat_values[field] = value
        self.stats_box = QWidget()
        self.stats_box.setLayout(stats)
        self.stats_box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.stats_note = QLabel()
        self.stats_note.setTextFormat(Qt.TextFormat.PlainText)
        self.stats_note.setStyleSheet("color: palette(placeholder-text);")
        status.addWidget(self.stats_box)
        status.addWidget(self.stats_note)

        self.log_caption = QLabel(f"Task log (last {LOG_LINES} lines)")
        self.log_text = _monospace("Druid task log", wrap=True)
        self.copy_log_action = keyed_action(
            self, "Copy log", "Ctrl+Shift+L", "Copy these log lines to the clipboard"
        )
        self.copy_log_action.triggered.connect(lambda: copy_text(self.log_text.toPlainText()))
        self.copy_log_button = QToolButton()
        self.copy_log_button.setDefaultAction(self.copy_log_action)
        self.log_box = self._box(self.log_caption, self.log_text, self.copy_log_button)
        self.spec_caption = QLabel("Ingestion spec")
        self.spec_text = _monospace("Ingestion spec", wrap=False)
        self.copy_spec_action = keyed_action(
            self, "Copy spec", "Ctrl+Shift+J", "Copy the ingestion spec (JSON) to the clipboard"
        )
        self.copy_spec_action.triggered.connect(lambda: copy_text(self.spec_text.toPlainText()))
        self.copy_spec_button = QToolButton()
        self.copy_spec_button.setDefaultAction(self.copy_spec_action)
        self.spec_box = self._box(self.spec_caption, self.spec_text, self.copy_spec_button)
        self.panes = QSplitter(Qt.Orientation.Horizontal)
        self.panes.addWidget(self.log_box)
        self.panes.addWidget(self.spec_box)

        content = QWidget()
        layout = _FitLayout(content)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(ids)
        layout.addLayout(status)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.compaction_label)
        layout.addWidget(self.panes, 1)
        # Scrolled rather than squeezed: the details panel shares a splitter with the task table,
        # and a tab with a tall minimum would push the whole panel out of it.
        scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(scroll)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

    @staticmethod
    def _sentence(name: str, tone: Tone) -> QLabel:
        label = QLabel()
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setAccessibleName(name)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        _toned(label, tone)
        label.hide()
        return label

    @staticmethod
    def _box(caption: QLabel, text: QPlainTextEdit, button: QToolButton) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(caption, 1)
        head.addWidget(button)
        layout.addLayout(head)
        layout.addWidget(text, 1)
        return box

    # -- what is shown -------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def show_pending(self, druid_task_id: str) -> None:
        """The id at once; the rest once Druid answers."""
        self.show_view(DruidTaskView(druid_task_id=druid_task_id))
        self.state_label.setText("Asking Druid…")
        _toned(self.state_label, Tone.NEUTRAL, bold=True)

    def set_busy(self, busy: bool) -> None:
        self.refresh_action.setEnabled(not busy)
        label = f"Refresh ({key_text(self.refresh_action)})"
        self.refresh_action.setIconText("Asking…" if busy else label)

    def show_view(self, view: DruidTaskView) -> None:
        self.stack.setCurrentIndex(1)
        self.task_id_field.setText(view.druid_task_id or "")
        self.task_id_field.setCursorPosition(0)
        state = view.state
        self.state_label.setText(str(state) if state else "")
        _toned(self.state_label, _STATE_TONES[state] if state else Tone.NEUTRAL, bold=True)
        facts = []
        if view.duration_ms is not None:
            facts.append(f"ran {human_duration(view.duration_ms / 1000)}")
        if view.location:
            facts.append(f"on {view.location}")
        if view.ingestion_state:
            facts.append(f"ingestion {view.ingestion_state.lower().replace('_', ' ')}")
        if view.fetched_at is not None:
            facts.append(f"as of {local_time(view.fetched_at)}")
        self.facts_label.setText(" · ".join(facts))
        self.facts_label.setToolTip(self.facts_label.text())
        self._set_sentence(self.problem_label, view.problem)
        self._set_sentence(self.error_label, view.error_message)
        advice = view.compaction_advice
        self._set_sentence(
            self.compaction_label,
            f"{advice}\n{view.compaction_task}" if advice and view.compaction_task else advice,
        )
        self._show_stats(view.row_stats, state)
        failed = state is DruidTaskState.FAILED
        self.log_box.setVisible(failed)
        self.log_text.setPlainText(view.log_tail or "")
        self.copy_log_action.setEnabled(bool(view.log_tail))
        self.log_text.setPlaceholderText(NO_LOG if view.log_missing else LOG_UNANSWERED)
        # The end of the log is where a failure is explained; the cursor keeps it in view.
        self.log_text.moveCursor(QTextCursor.MoveOperation.End)
        self._show_spec(view)

    def _set_sentence(self, label: QLabel, text: str | None) -> None:
        label.setText(text or "")
        label.setVisible(bool(text))

    def _show_stats(self, stats: RowStats | None, state: DruidTaskState | None) -> None:
        self.stats_box.setVisible(stats is not None)
        if stats is not None:
            for field, label in self.stat_values.items():
                count = int(getattr(stats, field))
                label.setText(f"{count:,}")
                bad = field != "processed" and count > 0
                label.setStyleSheet(
                    "font-weight: 600;" + (f" color: {TONE_COLORS[Tone.ERROR]};" if bad else "")
                )
            self.stats_note.hide()
            return
        waiting = state in (DruidTaskState.WAITING, DruidTaskState.PENDING, DruidTaskState.RUNNING)
        self.stats_note.setText(
            "Druid reports row counts once the task reads its input."
            if waiting
            else "Druid reported no row counts for this task."
            if state
            else ""
        )
        self.stats_note.setVisible(bool(self.stats_note.text()))

    def _show_spec(self, view: DruidTaskView) -> None:
        captions = {
            SpecSource.OVERLORD: "Ingestion spec (as the Overlord stores it)",
            SpecSource.LOCAL: "Ingestion spec (this desk's saved copy)",
        }
        source = view.spec_source
        self.spec_caption.setText(captions[source] if source else "Ingestion spec")
        if self.spec_text.toPlainText() != (view.spec_json or ""):
            self.spec_text.setPlainText(view.spec_json or "")  # unchanged: keep the scroll place
        self.spec_text.setPlaceholderText("Druid has no spec for this task." if view.state else "")
        self.copy_spec_action.setEnabled(bool(view.spec_json))

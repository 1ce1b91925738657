"""The ingest dialog's Druid check: replace preview or drift report, run once choices settle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.domain.druid import GranularityChoice, SchemaDrift, SegmentGranularity
from app.domain.tasks import IngestMode
from app.pipeline.look import (
    UPLOADS_NEED_REMOTE,
    CheckFailed,
    DropLook,
    ReplaceFigures,
    drift_report,
    null_handling_note,
    replace_figures,
    segment_plan,
    staged_columns,
)
from app.services.settings import Settings
from app.ui.ingest_drafts import FileDraft
from app.ui.task_format import TONE_COLORS, Tone
from app.ui.workers import WorkerContext, WorkerFailure, WorkerPool

# A check starts once the choices stop changing for this long (typing a datasource name).
SETTLE_MS = 400


def _moment(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _rows(count: int) -> str:
    return f"{count:,} row{'s' if count != 1 else ''}"


def describe_replace(figures: ReplaceFigures) -> str:
    """Exact figures: the whole time chunks (days, months, ...) a replace overwrites, Druid's
    rows there, the file's rows."""
    preview, span, segments = figures.preview, figures.time_range, figures.segments
    interval = preview.interval
    last_day = _day(interval.end_ms - 1)
    first_day = _day(interval.start_ms)
    when = first_day if first_day == last_day else f"{first_day} to {last_day}"
    lines = [
        f"Replace overwrites {segments.chunks:,} whole {segments.unit} of "
        f"'{preview.datasource}' (UTC): {when}.",
        f"Druid holds {_rows(preview.rows_now)} in that time now; they are dropped.",
        f"This file brings {_rows(preview.rows_incoming)}",
    ]
    if span.min_ms is not None and span.max_ms is not None:
        lines[-1] += f", dated {_moment(span.min_ms)} to {_moment(span.max_ms)}."
    undated = span.rows - span.dated
    if undated:
        lines.append(f"{_rows(undated)} have no readable date; validation will report them.")
    return "\n".join(lines)


def describe_drift(drift: SchemaDrift, datasource: str, columns: int) -> str:
    """New, missing and type-changed columns compared with what Druid holds now."""
    if not drift.datasource_exists:
        return (
            f"Druid has no datasource '{datasource}' yet: appending creates it with "
            f"{columns} column{'s' if columns != 1 else ''} and __time."
        )
    if not drift.has_drift:
        return f"Appends to '{datasource}': the columns match what Druid holds."
    lines = [f"Appends to '{datasource}'. Compared with Druid's columns (from a sample):"]
    if drift.new:
        lines.append("New in this file: " + ", ".join(drift.new) + ".")
    if drift.missing:
        lines.append("Not in this file (empty for these rows): " + ", ".join(drift.missing) + ".")
    for change in drift.type_changed:
        lines.append(
            f"Type changed: {change.column} is {change.existing} in Druid but looks "
            f"{change.incoming} here."
        )
    return "\n".join(lines)


def _segments_line(segments: GranularityChoice) -> str:
    return f"\nSegments: {segments.reason}."


@dataclass(frozen=True, slots=True)
class _CheckOutcome:
    serial: int
    text: str
    error: bool = False


class ChecksPanel(QGroupBox):
    """Runs the selected file's Druid check once its choices settle, on a worker, and shows
    one result at a time: busy while it runs, then its text, a note or an error."""

    finished = Signal(str)  # the text now shown

    def __init__(
        self,
        drop: DropLook,
        settings: Settings,
        workers: WorkerPool,
        current: Callable[[], FileDraft | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("What happens in Druid", parent)
        self.setAccessibleName("What happens in Druid")
        self._drop = drop
        self._settings = settings
        self._workers = workers
        self._current = current
        self._serial = 0
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._run)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: the check has no measurable progress
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(8)
        self.busy.setAccessibleName("Checking with Druid")
        self.busy.hide()
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # Druid's and the file's names
        self.text.setObjectName("checkText")
        self.text.setWordWrap(True)
        self.text.setAccessibleName("Druid check result")
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # Room for a replace preview, the segments line and a null-handling note, unclipped.
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 7)
        # Druid's time chunk: automatic (the datasource's own, or fitted to the file) unless set.
        self.granularity = QComboBox()
        self.granularity.setAccessibleName("Segment granularity")
        self.granularity.setToolTip(
            "Druid's time chunk for this datasource: Automatic keeps the datasource's own, or "
            "fits a new one to the file's span"
        )
        self.granularity.addItem("Automatic", None)
        for choice in SegmentGranularity:
            self.granularity.addItem(choice.value.title(), choice)
        self.granularity.activated.connect(self._granularity_chosen)
        label = QLabel("Se&gments:")
        label.setBuddy(self.granularity)
        row = QHBoxLayout()
        row.addWidget(label)
        row.addWidget(self.granularity)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.busy)
        layout.addWidget(self.text, 1)

    def show_granularity(self, draft: FileDraft) -> None:
        """The selected file's choice (Automatic unless the user or a template set one)."""
        blocker = QSignalBlocker(self.granularity)
        self.granularity.setCurrentIndex(
            max(0, self.granularity.findData(draft.segment_granularity))
        )
        del blocker

    @Slot(int)
    def _granularity_chosen(self, index: int) -> None:
        draft = self._current()
        if draft is None:
            return
        chosen = self.granularity.itemData(index)
        # The combo hands its item data back as a plain string (Qt keeps no Python enum).
        draft.segment_granularity = SegmentGranularity(chosen) if chosen else None
        self.schedule()

    # -- scheduling ----------------------------------------------------------------------------

    def schedule(self) -> None:
        """The choices changed: check again once they stop changing."""
        self._serial += 1  # whatever is running now is out of date
        self._settle.start()

    def stop(self) -> None:
        self._serial += 1
        self._settle.stop()

    @Slot()
    def _run(self) -> None:
        draft = self._current()
        if draft is None:
            return
        look, drop = draft.look, self._drop
        if look.problem:
            self._finish(look.problem, Tone.ERROR)
        elif not drop.uploads_configured:
            self._finish("No Druid check: " + UPLOADS_NEED_REMOTE, Tone.NEUTRAL)
        elif not drop.catalog.available:
            self._finish(f"No Druid check: {drop.catalog.note or 'Druid did not answer.'}",
                         Tone.NEUTRAL)
        elif draft.problem:
            self._finish("Fix the datasource name to see what happens in Druid.", Tone.NEUTRAL)
        else:
            self._start(draft)

    def _start(self, draft: FileDraft) -> None:
        serial, look, choices, settings = self._serial, draft.look, draft.choices(), self._settings
        replace_mode = choices.mode is IngestMode.REPLACE
        self.show_busy(
            "Reading the file's time range and counting Druid's rows…" if replace_mode
            else "Comparing the columns with Druid's…"
        )

        def check(_: WorkerContext[None]) -> _CheckOutcome:
            try:
                if replace_mode:
                    figures = replace_figures(look, choices, settings)
                    text = describe_replace(figures) + _segments_line(figures.segments)
                else:
                    drift = drift_report(look, choices, settings)
                    count = len(staged_columns(look, choices))
                    text = describe_drift(drift, choices.datasource, count)
                    text += _segments_line(segment_plan(look, choices, settings))
                note = null_handling_note(settings)
                return _CheckOutcome(serial, text + (f"\n{note}" if note else ""))
            except CheckFailed as exc:
                # Shown inline: the user sees the reason and can change the choice.
                return _CheckOutcome(serial, f"Could not check with Druid: {exc}", error=True)

        def failed(failure: WorkerFailure) -> None:
            # An error `check` does not expect is shown here too: the panel never stays busy.
            text = f"Could not check with Druid: {failure.message}"
            self._on_checked(_CheckOutcome(serial, text, error=True))

        self._workers.start(
            "check with Druid", check, on_finished=self._on_checked, on_failed=failed
        )

    @Slot(object)
    def _on_checked(self, outcome: _CheckOutcome) -> None:
        if outcome.serial != self._serial:
            return  # the choices changed meanwhile; a newer check follows
        self._finish(outcome.text, Tone.ERROR if outcome.error else None)

    def _finish(self, text: str, tone: Tone | None) -> None:
        if tone is Tone.ERROR:
            self.show_error(text)
        elif tone is Tone.NEUTRAL:
            self.show_note(text)
        else:
            self.show_result(text)
        self.finished.emit(text)

    # -- showing -------------------------------------------------------------------------------

    def _set(self, text: str, tone: Tone | None) -> None:
        self.busy.hide()
        color = f"color: {TONE_COLORS[tone]};" if tone is not None else ""
        self.text.setStyleSheet(f"QLabel#checkText {{ {color} }}")
        self.text.setText(text)

    def show_busy(self, text: str) -> None:
        self._set(text, None)
        self.busy.show()

    def show_result(self, text: str) -> None:
        self._set(text, None)

    def show_note(self, text: str) -> None:
        self._set(text, Tone.NEUTRAL)

    def show_error(self, text: str) -> None:
        self._set(text, Tone.ERROR)

"""How the file is read: encoding, delimiter, header row, time zone, one timestamp for all rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, QSignalBlocker, QTimeZone, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QGroupBox,
    QSpinBox,
    QWidget,
)

from app.pipeline.look import FileLook

_ENCODINGS = ("utf-8", "cp1252", "latin-1", "utf-16", "cp850", "mac-roman")
_DELIMITERS = (("Comma ,", ","), ("Semicolon ;", ";"), ("Tab", "\t"), ("Pipe |", "|"))
_ZONES = ("UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York",
          "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney")


@dataclass(frozen=True, slots=True)
class Reading:
    """The corrections of the reader's guesses (None: as the file says)."""

    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None


def _shown_delimiter(value: str | None) -> str:
    return next((label for label, char in _DELIMITERS if char == value), repr(value or "?"))


class ReadingOptions(QGroupBox):
    """Changing encoding, delimiter or header row re-reads the file (`readingChanged`); the
    zone and the one timestamp only change the choices (`timeChanged`)."""

    readingChanged = Signal(object)  # Reading
    timeChanged = Signal()

    def __init__(self, default_zone: str, parent: QWidget | None = None) -> None:
        super().__init__("How the file is read", parent)
        self.setAccessibleName("How the file is read")
        self._default_zone = default_zone
        self.encoding = QComboBox()
        self.encoding.setAccessibleName("Encoding")
        self.encoding.setToolTip("The text encoding; pick another when accents look garbled")
        self.delimiter = QComboBox()
        # Wide enough for "As detected (Semicolon ;)" without clipping.
        for combo in (self.encoding, self.delimiter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.delimiter.setAccessibleName("Delimiter")
        self.delimiter.setToolTip("The character between fields")
        self.header_row = QSpinBox()
        self.header_row.setAccessibleName("Header row")
        self.header_row.setToolTip("The line that holds the column names (1 is the first)")
        self.header_row.setRange(0, 10_000)
        self.zone = QComboBox()
        self.zone.setEditable(True)
        self.zone.setAccessibleName("Time zone")
        self.zone.setToolTip("The zone of times written without one (an IANA name)")
        for zone in dict.fromkeys((default_zone, *_ZONES)):
            self.zone.addItem(zone)
        self.one_time = QCheckBox("One timestamp for e&very row")
        self.one_time.setToolTip("For files without a date column: every row gets this instant")
        self.moment = QDateTimeEdit()
        self.moment.setAccessibleName("Timestamp for every row")
        self.moment.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.moment.setCalendarPopup(True)
        self.moment.setTimeZone(QTimeZone.utc())
        self.moment.setDateTime(QDateTime.currentDateTimeUtc())
        self.moment.setEnabled(False)
        self.form = QFormLayout(self)
        self.form.addRow("E&ncoding:", self.encoding)
        self.form.addRow("De&limiter:", self.delimiter)
        self.form.addRow("Header ro&w:", self.header_row)
        self.form.addRow("Time &zone:", self.zone)
        self.form.addRow(self.one_time)
        self.form.addRow("", self.moment)
        self.encoding.activated.connect(self._reading_edited)
        self.delimiter.activated.connect(self._reading_edited)
        self.header_row.editingFinished.connect(self._reading_edited)
        self.zone.currentTextChanged.connect(self._time_edited)
        self.one_time.toggled.connect(self.moment.setEnabled)
        self.one_time.toggled.connect(self._time_edited)
        self.moment.dateTimeChanged.connect(self._time_edited)
        self._last = Reading()

    def show_look(
        self, look: FileLook, zone: str | None, moment: datetime | None
    ) -> None:
        """The reader's guesses as the "as detected" entries, the corrections selected."""
        blockers = [QSignalBlocker(w) for w in (self.encoding, self.delimiter, self.header_row,
                                                self.zone, self.one_time, self.moment)]
        self.encoding.clear()
        self.encoding.addItem(f"As detected ({look.decided('encoding') or '?'})", None)
        for name in _ENCODINGS:
            self.encoding.addItem(name, name)
        self.encoding.setCurrentIndex(max(self.encoding.findData(look.encoding), 0))
        self.delimiter.clear()
        self.delimiter.addItem(f"As detected ({_shown_delimiter(look.decided('delimiter'))})",
                               None)
        for label, char in _DELIMITERS:
            self.delimiter.addItem(label, char)
        self.delimiter.setCurrentIndex(max(self.delimiter.findData(look.delimiter), 0))
        self.header_row.setSpecialValueText(f"As detected (row {look.header_row})")
        self.header_row.setValue(look.header_row_override or 0)
        self.zone.setCurrentText(zone or self._default_zone)
        self.one_time.setChecked(moment is not None)
        self.moment.setEnabled(moment is not None)
        if moment is not None:
            self.moment.setDateTime(QDateTime.fromSecsSinceEpoch(int(moment.timestamp()),
                                                                 QTimeZone.utc()))
        text = not look.is_workbook
        for widget in (self.encoding, self.delimiter):
            self.form.setRowVisible(widget, text)
        self._last = self.reading()
        del blockers

    def reading(self) -> Reading:
        header = self.header_row.value()
        return Reading(self.encoding.currentData(), self.delimiter.currentData(),
                       header if header > 0 else None)

    def zone_choice(self) -> str | None:
        """None when it is the settings' zone (the task then follows the settings)."""
        text = self.zone.currentText().strip()
        return text if text and text != self._default_zone else None

    def moment_choice(self) -> datetime | None:
        if not self.one_time.isChecked():
            return None
        seconds = self.moment.dateTime().toSecsSinceEpoch()
        return datetime.fromtimestamp(seconds, tz=UTC)

    @Slot()
    def _reading_edited(self, *_args: object) -> None:
        reading = self.reading()
        if reading != self._last:  # editingFinished also fires on a mere focus change
            self._last = reading
            self.readingChanged.emit(reading)

    @Slot()
    def _time_edited(self, *_args: object) -> None:
        self.timeChanged.emit()


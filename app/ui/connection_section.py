"""One connection's group in the Settings dialog: its fields, a Test button and the verdict."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.pipeline.connections import ConnectionCheck, Outcome
from app.ui.task_format import TONE_COLORS, Tone
from app.ui.workers import WorkerContext, WorkerFailure, WorkerPool

# Built on the GUI thread from the widgets' values; runs on a pool thread and reads no widget.
Probe = Callable[[WorkerContext[None]], ConnectionCheck]

_MARKS = {
    Outcome.OK: ("✓", Tone.SUCCESS),
    Outcome.WARNING: ("!", Tone.ATTENTION),
    Outcome.FAILED: ("✗", Tone.ERROR),
}


def missing_scheme(url: str | None) -> str | None:
    """What to add to a URL typed without http:// or https:// (None when it has one)."""
    if not url:
        return None
    scheme, separator, _rest = url.partition("://")
    if separator and scheme.lower() in ("http", "https"):
        return None
    if separator:
        return f"{scheme}:// is not supported here: use http:// or https:// instead"
    return f"Add http:// or https:// at the start, for example http://{url}"


class SchemeHint(QLabel):
    """Under a URL field: says what is missing once the user leaves the field (not while they
    type), and goes away as soon as the URL is fixed."""

    def __init__(self, edit: QLineEdit, field: str = "") -> None:
        super().__init__()
        self._edit = edit
        self._field = field  # named when the hint cannot sit right under its field
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAccessibleName(f"{edit.accessibleName()} hint")
        self.setStyleSheet(f"color: {TONE_COLORS[Tone.ATTENTION]};")
        self.hide()
        edit.editingFinished.connect(self.check)
        edit.textChanged.connect(self._edited)

    def problem(self) -> str | None:
        return missing_scheme(self._edit.text().strip())

    @Slot()
    def check(self) -> str | None:
        problem = self.problem()
        shown = problem or ""
        if problem and self._field:
            shown = f"{self._field}: {problem[0].lower()}{problem[1:]}"
        self.setText(shown)
        self.setVisible(problem is not None)
        return problem

    @Slot()
    def _edited(self) -> None:
        if self.isVisible():
            self.check()


def first_field(container: QWidget) -> QWidget | None:
    """The first enabled field in `container`'s tab order (a button never counts)."""
    widget = container.nextInFocusChain()
    while widget is not None and widget is not container:
        editable = isinstance(widget, QLineEdit | QComboBox | QCheckBox)
        if editable and widget.isEnabled() and widget.isVisibleTo(container):
            return widget
        widget = widget.nextInFocusChain()
    return None


def two_columns(pairs: list[tuple[str, QWidget]]) -> QGridLayout:
    """Label and field pairs, two to a row, read left to right (as Tab moves)."""
    grid = QGridLayout()
    for index, (label, widget) in enumerate(pairs):
        row, column = divmod(index, 2)
        if label:
            grid.addWidget(QLabel(label), row, column * 2)
        grid.addWidget(widget, row, column * 2 + 1)
    grid.setColumnStretch(1, 1)
    grid.setColumnStretch(3, 1)
    return grid


def line_edit(name: str, tip: str, placeholder: str = "", *, secret: bool = False) -> QLineEdit:
    edit = QLineEdit()
    edit.setAccessibleName(name)
    edit.setToolTip(tip)
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(not secret)
    if secret:
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        # No autocompletion or input-method history may keep a copy of a secret.
        edit.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText
        )
    return edit


class ConnectionSection(QGroupBox):
    """Fields go into `form`; Test runs `make_probe()` on the worker pool, never on the GUI."""

    testFinished = Signal(ConnectionCheck)

    def __init__(
        self,
        title: str,
        intro: str,
        workers: WorkerPool,
        make_probe: Callable[[], Probe],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent)
        self.setAccessibleName(f"{title} settings")
        self._title = title
        self._workers = workers
        self._make_probe = make_probe
        # URL fields whose hint stops a Test that could not reach anything; set with the fields.
        self.hints: tuple[SchemeHint, ...] = ()
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.intro.setStyleSheet("color: palette(placeholder-text);")
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.test_button = QPushButton("Test connection")
        self.test_button.setAccessibleName(f"Test the {title} connection")
        self.test_button.setToolTip(
            f"Try the {title} settings as typed, without saving them (Enter in this section)"
        )
        # Enter in a field tests its own section; it must not fall through to Save.
        self.test_button.setAutoDefault(False)
        self.test_button.clicked.connect(self.test)
        self.result = QLabel()
        self.result.setAccessibleName(f"{title} test result")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Always laid out (empty until a test), so its width is real when a verdict arrives.

        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.result, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self.form)
        layout.addLayout(test_row)
        self.last_check: ConnectionCheck | None = None

    @property
    def testing(self) -> bool:
        return not self.test_button.isEnabled()

    @Slot()
    def test(self) -> None:
        if self.testing:
            return
        if [hint for hint in self.hints if hint.check()]:
            self.show_problem("Not tested: the URL above needs http:// or https:// first.")
            return
        probe = self._make_probe()
        self.test_button.setEnabled(False)
        self._show_text("Testing…", Tone.ACTIVE)
        self._workers.start(
            f"test the {self._title} connection",
            probe,
            on_finished=self._finished,
            on_failed=self._failed,
        )

    @Slot(object)
    def _finished(self, check: ConnectionCheck) -> None:
        self.show_check(check)

    @Slot(WorkerFailure)
    def _failed(self, failure: WorkerFailure) -> None:
        self.show_check(
            ConnectionCheck(
                self._title, Outcome.FAILED, f"The test itself failed: {failure.message}"
            )
        )

    def show_check(self, check: ConnectionCheck) -> None:
        self.test_button.setEnabled(True)
        self.last_check = check
        mark, tone = _MARKS[check.outcome]
        text = f"<b style='color:{TONE_COLORS[tone]}'>{mark}</b> {html.escape(check.message)}"
        if check.hint:
            hint = html.escape(check.hint)
            text += f"<br><span style='color:palette(placeholder-text)'>{hint}</span>"
        self.result.setText(text)
        self.result.setToolTip(check.message)
        self._fit()
        self.testFinished.emit(check)

    def show_problem(self, message: str) -> None:
        """A field the dialog refused to save; shown where the user is already looking."""
        self._show_text(message, Tone.ERROR)

    def _show_text(self, message: str, tone: Tone) -> None:
        color = TONE_COLORS[tone]
        self.result.setText(f"<span style='color:{color}'>{html.escape(message)}</span>")
        self._fit()

    def _fit(self) -> None:
        # A dialog does not apply a wrapped label's height-for-width; ask for the height of the
        # new text at the current width, or a two-line verdict is cut to one.
        self.result.setMinimumHeight(self.result.heightForWidth(self.result.width()))

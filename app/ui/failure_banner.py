"""The window's failure banner: what could not be done and why, with the traceback on request."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import (
    QAccessible,
    QAccessibleEvent,
    QFontDatabase,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.task_format import TONE_COLORS, Tone
from app.ui.workers import WorkerFailure

# Enough to explain a burst (every followed task losing Druid at once) without growing forever.
KEPT_PROBLEMS = 50
# The banner shows the start of a long message; the whole of it is in the tooltip and Details….
_SHOWN_CHARS = 300
_ICON_PX = 20


@dataclass(frozen=True, slots=True)
class Problem:
    text: str  # "Could not <operation>: <reason>"
    details: str = ""  # the traceback, when there is one


def problem_for(failure: WorkerFailure) -> Problem:
    return Problem(f"Could not {failure.name}: {failure.message}", failure.details)


def _shown(text: str) -> str:
    """The first line, cut to a banner's length; " …" says there is more in Details…."""
    lines = text.strip().splitlines() or [""]
    first = lines[0]
    if len(first) > _SHOWN_CHARS:
        return first[: _SHOWN_CHARS - 1].rstrip() + "…"
    return first + " …" if len(lines) > 1 else first


class FailureDetails(QDialog):
    """Every problem the banner holds, newest first, with its traceback, to read or copy."""

    def __init__(self, problems: list[Problem], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Problem details")
        self.setObjectName("failureDetails")
        self.resize(900, 480)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Problem details")
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("&Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setToolTip("Copy these details to the clipboard, for a bug report")
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.text.toPlainText())
        )
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.show_problems(problems)

    def show_problems(self, problems: list[Problem]) -> None:
        count = len(problems)
        self.intro.setText(
            f"{count} problem{'s' if count != 1 else ''}, newest first. If one keeps coming "
            "back, Copy puts all of this on the clipboard for a bug report."
        )
        parts = []
        for problem in reversed(problems):
            details = problem.details.strip() or "(no traceback: the reason above is all there is)"
            parts.append(f"{problem.text}\n\n{details}")
        self.text.setPlainText(("\n\n" + "─" * 72 + "\n\n").join(parts))


class FailureBanner(QFrame):
    """A strip above the task table, never a modal box: the newest problem, how many more,
    Details… for the tracebacks, and × (or Esc) to dismiss them all."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("failureBanner")
        self.setAccessibleName("Problems")
        self.setFrameShape(QFrame.Shape.NoFrame)
        color = TONE_COLORS[Tone.ERROR]
        # A translucent tint of the error hue reads on light and dark palettes alike.
        self.setStyleSheet(
            f"QFrame#failureBanner {{ border-left: 4px solid {color}; "
            "background: rgba(214, 69, 69, 28); border-radius: 2px; }"
        )
        self._problems: list[Problem] = []
        self.dialog: FailureDetails | None = None

        self.icon = QLabel()
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
        self.icon.setPixmap(icon.pixmap(_ICON_PX, _ICON_PX))
        self.icon.setAccessibleName("Error")
        self.message = QLabel()
        self.message.setObjectName("failureMessage")
        self.message.setAccessibleName("Problem")
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # an error's text is not markup
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.count = QLabel()
        self.count.setObjectName("failureCount")
        self.count.setAccessibleName("Earlier problems")
        self.count.setStyleSheet(
            f"QLabel#failureCount {{ color: {color}; font-weight: 600; padding: 0 4px; }}"
        )
        self.details_button = QPushButton("Details…")
        self.details_button.setToolTip("Show what went wrong in full, to read or copy")
        self.details_button.clicked.connect(self.show_details)
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setAutoRaise(True)
        font = self.close_button.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.close_button.setFont(font)
        self.close_button.setAccessibleName("Dismiss problems")
        self.close_button.setToolTip("Dismiss (Esc)")
        self.close_button.clicked.connect(self.dismiss)
        # Window-wide, but only while the banner shows: a hidden widget's shortcut is inactive.
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.escape.setContext(Qt.ShortcutContext.WindowShortcut)
        self.escape.activated.connect(self.dismiss)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.setSpacing(8)
        for widget in (self.icon, self.message, self.count, self.details_button):
            layout.addWidget(widget, 1 if widget is self.message else 0)
        layout.addWidget(self.close_button)
        self.hide()

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(self._problems)

    @Slot(WorkerFailure)
    def show_failure(self, failure: WorkerFailure) -> None:
        self.show_problem(problem_for(failure))

    def show_text(self, text: str) -> None:
        """A problem known only by its sentence (the task database did not open)."""
        self.show_problem(Problem(text))

    def show_problem(self, problem: Problem) -> None:
        self._problems.append(problem)
        del self._problems[:-KEPT_PROBLEMS]
        self.message.setText(_shown(problem.text))
        self.message.setToolTip(problem.text)
        earlier = len(self._problems) - 1
        self.count.setText(f"+{earlier} more" if earlier else "")
        self.count.setToolTip(
            f"{earlier} earlier problem{'s' if earlier != 1 else ''}: Details… lists them all"
            if earlier else ""
        )
        self.count.setVisible(bool(earlier))
        self.details_button.setEnabled(any(p.details for p in self._problems))
        self.setAccessibleDescription(problem.text)
        self.show()
        if self.dialog is not None:
            self.dialog.show_problems(self._problems)
        # Screen readers announce it as they would a message box, without taking the focus.
        QAccessible.updateAccessibility(QAccessibleEvent(self, QAccessible.Event.Alert))

    @Slot()
    def show_details(self) -> FailureDetails:
        if self.dialog is None:
            dialog = FailureDetails(self._problems, self.window())
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(self._forget_dialog)
            self.dialog = dialog
        self.dialog.open()
        return self.dialog

    @Slot()
    def _forget_dialog(self) -> None:
        self.dialog = None

    @Slot()
    def dismiss(self) -> None:
        self._problems.clear()
        self.hide()
        self.dismissed.emit()

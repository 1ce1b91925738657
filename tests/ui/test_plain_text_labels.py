"""Names and words from a file or another desk are shown as written, never rendered as markup."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.ui.details_panel import DetailsPanel
from app.ui.drop_zone import DropZone
from app.ui.druid_section import DruidSection
from tests.ui.ui_helpers import make_task

MARKUP = "<b>x</b><img src='http://evil.example/p.png'>"


def _literal(label: QLabel, expected: str) -> None:
    assert label.textFormat() is Qt.TextFormat.PlainText
    assert label.text() == expected


def test_a_task_whose_file_name_is_markup_shows_it_literally(qtbot: QtBot) -> None:
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    task = make_task(
        1, state=TaskState.FAILED, file_name=f"{MARKUP}.csv", datasource="<i>ds</i>",
        error_message="<a href='x'>click</a>", sheet="<u>S</u>",
    )
    panel.show_task(task, None, can_export=False)
    _literal(panel.title, f"{MARKUP}.csv › <u>S</u>")
    _literal(panel.summary, "<a href='x'>click</a>")
    _literal(panel.meta, f"Datasource <i>ds</i> · task {task.id}")
    assert panel.no_report.textFormat() is Qt.TextFormat.PlainText
    assert panel.pending.textFormat() is Qt.TextFormat.PlainText


def test_druid_section_labels_are_plain_text(qtbot: QtBot) -> None:
    section = DruidSection()
    qtbot.addWidget(section)
    for label in (
        section.message, section.state_label, section.facts_label, section.stats_note,
        section.problem_label, section.error_label,
    ):
        assert label.textFormat() is Qt.TextFormat.PlainText


def test_the_drop_hint_is_plain_text(qtbot: QtBot) -> None:
    zone = DropZone()
    qtbot.addWidget(zone)
    assert zone.hint.textFormat() is Qt.TextFormat.PlainText

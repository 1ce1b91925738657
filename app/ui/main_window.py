"""The main window: drop zone, filter bar, live task table, details panel and status bar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.domain.store import FeedStatus
from app.domain.tasks import RETRYABLE_STATES, Task
from app.pipeline.intake import SUPPORTED_LABEL, Refusal
from app.pipeline.runner import RunResult
from app.pipeline.session import SessionInfo, describe_connections
from app.ui.connection_health import install_connection_health
from app.ui.controller import DeskController
from app.ui.details_panel import DetailsPanel
from app.ui.drop_zone import DropZone
from app.ui.druid_presenter import install_druid_section
from app.ui.empty_state import EmptyState
from app.ui.failure_banner import FailureBanner
from app.ui.icons import ActionIcons
from app.ui.ingest_flow import IngestFlow
from app.ui.notifications import install_notifications
from app.ui.quit_guard import QuitGuard
from app.ui.resources import app_icon, sample_files
from app.ui.review_action import install_review_action
from app.ui.settings_dialog import SettingsDialog
from app.ui.settings_save import SavedSettings, held_sentence
from app.ui.status_bar import DeskStatusBar
from app.ui.task_filter import StateFilter, TaskFilterProxy
from app.ui.task_format import TONE_COLORS, Tone
from app.ui.task_table import make_task_table
from app.ui.theme import apply_theme_choice
from app.ui.window_parts import TaskSelection, WindowParts
from app.ui.window_state import HiddenTasks, restore_layout, save_layout

_FILE_FILTER = (
    "Spreadsheets (*.csv *.tsv *.txt *.tab *.gz *.xlsx *.xlsm *.xlsb *.xls *.ods);;All files (*)"
)


class MainWindow(QMainWindow):
    """Builds the widgets and actions, then hands `parts` (never itself) to its satellites."""

    def __init__(self, controller: DeskController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.model = controller.model
        self.setWindowTitle("Ingest Desk")
        self.setWindowIcon(app_icon())
        self.resize(1200, 760)

        self.drop_zone = DropZone()
        self.banner = QLabel()
        self.banner.setTextFormat(Qt.TextFormat.PlainText)  # refusals quote dropped file names
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setAccessibleName("Messages")
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        self.failures = FailureBanner()  # every failure no one else shows, and the controller's

        self.proxy = TaskFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = make_task_table(self.proxy)
        self.selection = TaskSelection(self.table, self.proxy, self.model)
        self.state_filter = QComboBox()
        self.state_filter.setAccessibleName("Filter by state")
        self.state_filter.setToolTip("Show tasks in these states")
        for choice in StateFilter:
            self.state_filter.addItem(choice.value, choice)
        self.owner_filter = QComboBox()
        self.owner_filter.setAccessibleName("Whose tasks")
        self.owner_filter.setToolTip("Everyone's tasks, or only the ones you added")
        self.owner_filter.addItems(["Everyone's tasks", "My tasks"])
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search file, datasource, task id… (Ctrl+F)")
        self.search.setAccessibleName("Search tasks")
        self.search.setClearButtonEnabled(True)
        self.state_filter.currentIndexChanged.connect(self._filter_state)
        self.owner_filter.currentIndexChanged.connect(
            lambda index: self.proxy.set_mine_only(index == 1)
        )
        self.search.textChanged.connect(self.proxy.set_search)

        self.empty_state = EmptyState()
        self.details = DetailsPanel()
        self.status = DeskStatusBar()
        self.setStatusBar(self.status)
        self._build_actions()
        self._build_layout()
        self._connect()
        self._update_stack()
        self._update_actions()
        self.parts = WindowParts(
            window=self, controller=controller, model=self.model, proxy=self.proxy,
            table=self.table, selection=self.selection, splitter=self.splitter,
            details=self.details, status=self.status, toolbar=self.toolbar, icons=self.icons,
            cancel_action=self.cancel_action, settings_action=self.settings_action,
            failures=self.failures,
        )
        restore_layout(self.parts)
        self.hidden = HiddenTasks()
        for task_id in self.hidden.ids:
            self.model.hide_task(task_id)
        self.notifications = install_notifications(self.parts)
        self.druid = install_druid_section(self.parts)  # the Druid tab and the console action
        self.review = install_review_action(self.parts)  # answer or confirm a held task
        self.health = install_connection_health(self.parts)  # S3 and Druid in the status bar
        self.quit_guard = QuitGuard(self.parts)
        self.empty_state.attach(controller)  # a store that did not open: why, Retry, local
        self.ingest_flow = IngestFlow(controller, self)  # a drop asks before it adds tasks

    # -- construction --------------------------------------------------------------------------

    def _action(
        self, text: str, shortcut: QKeySequence.StandardKey | str, tip: str
    ) -> QAction:
        keys = QKeySequence(shortcut)
        action = QAction(text, self)
        action.setShortcut(keys)
        action.setToolTip(f"{tip} ({keys.toString(QKeySequence.SequenceFormat.NativeText)})")
        action.setStatusTip(tip)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action(
            "Add files…", QKeySequence.StandardKey.Open, "Choose spreadsheets to validate"
        )
        self.cancel_action = self._action("Cancel", "Ctrl+.", "Cancel the selected task")
        self.retry_action = self._action("Retry", "Ctrl+R", "Validate the selected task again")
        self.send_ready_action = self._action(
            "Send ready files", "Ctrl+Shift+U",
            "Upload every file that is valid and was waiting for S3 and Druid",
        )
        self.copy_id_action = self._action(
            "Copy task id", "Ctrl+Shift+C", "Copy the selected task's id to the clipboard"
        )
        self.remove_action = self._action(
            "Remove from view", QKeySequence.StandardKey.Delete,
            "Hide the selected task here; its history stays in the store",
        )
        self.find_action = self._action("Find", QKeySequence.StandardKey.Find, "Search tasks")
        self.settings_action = self._action(
            "Settings…", "Ctrl+,", "Connect a shared task database, S3 and Druid"
        )
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action = self._action("Quit", QKeySequence.StandardKey.Quit, "Quit Ingest Desk")
        self.open_action.triggered.connect(self.browse)
        self.cancel_action.triggered.connect(lambda: self._on_selected(self.controller.cancel))
        self.retry_action.triggered.connect(lambda: self._on_selected(self.controller.retry))
        self.send_ready_action.triggered.connect(self.send_ready)
        self.send_ready_action.setEnabled(False)  # until a session with S3 and Druid is open
        self.copy_id_action.triggered.connect(self.copy_task_id)
        self.remove_action.triggered.connect(self.remove_selected)
        self.find_action.triggered.connect(self.search.setFocus)
        self.settings_action.triggered.connect(self.open_settings)
        self.quit_action.triggered.connect(self.close)

        self.toolbar = toolbar = QToolBar("Tasks")
        toolbar.setObjectName("tasksToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (
            self.open_action, self.cancel_action, self.retry_action, self.send_ready_action,
            self.copy_id_action, self.remove_action,
        ):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.settings_action)
        self.icons = ActionIcons({
            self.open_action: "add-files", self.cancel_action: "cancel",
            self.retry_action: "retry", self.send_ready_action: "send",
            self.copy_id_action: "copy",
            self.remove_action: "remove", self.settings_action: "settings",
        }, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    def _build_layout(self) -> None:
        filters = QHBoxLayout()
        filters.addWidget(self.state_filter)
        filters.addWidget(self.owner_filter)
        filters.addWidget(self.search, 1)
        table_page = QWidget()
        table_layout = QVBoxLayout(table_page)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addLayout(filters)
        table_layout.addWidget(self.table, 1)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(table_page)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(10, 8, 10, 4)
        layout.addWidget(self.failures)
        layout.addWidget(self.drop_zone)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _connect(self) -> None:
        controller = self.controller
        self.drop_zone.pathsDropped.connect(self.add_paths)
        self.drop_zone.browseRequested.connect(self.browse)
        self.empty_state.samplesRequested.connect(self.add_samples)
        self.empty_state.settingsRequested.connect(self.open_settings)
        self.details.exportRequested.connect(self.export_errors)
        self.details.timelineWanted.connect(controller.timeline)
        controller.timelineReady.connect(self.details.show_timeline)
        self.table.selectionModel().currentRowChanged.connect(self._selection_changed)
        self.table.customContextMenuRequested.connect(self._context_menu)
        # Not every platform turns the Menu key into a context menu; Shift+F10 is the other key.
        menu_keys = QAction("Task actions", self.table)
        menu_keys.setShortcuts([QKeySequence("Shift+F10"), QKeySequence(Qt.Key.Key_Menu)])
        menu_keys.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        menu_keys.triggered.connect(self._context_menu_at_current)
        self.table.addAction(menu_keys)
        self.model.dataChanged.connect(self._model_changed)
        for signal in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            signal.connect(self._update_stack)
        controller.sessionReady.connect(self._session_ready)
        controller.sessionFailed.connect(self._session_failed)
        controller.refused.connect(self.show_refusals)
        controller.notice.connect(lambda text: self.status.showMessage(text, 6000))
        # One place for failures: the controller's own, and any worker's that has no handler.
        controller.operationFailed.connect(self.failures.show_failure)
        controller.workers.set_default_failure_handler(self.failures.show_failure)
        controller.feedStatusChanged.connect(self._feed_status)
        controller.taskValidated.connect(self._task_validated)
        controller.reports.reportReady.connect(self._report_ready)

    @Slot(int)
    def _filter_state(self, index: int) -> None:
        choice = self.state_filter.itemData(index)
        if isinstance(choice, StateFilter):
            self.proxy.set_state_filter(choice)

    # -- session -------------------------------------------------------------------------------

    @Slot(SessionInfo)
    def _session_ready(self, info: SessionInfo) -> None:
        self.proxy.set_identity(info.client.id, info.client.user)
        # Files validated while S3 and Druid were not set wait in "Ready to upload" for this.
        self.send_ready_action.setEnabled(self.controller.uploads())
        self.status.show_session(info)
        self.empty_state.show_session(info, have_samples=bool(sample_files()))

    @Slot(str)
    def _session_failed(self, message: str) -> None:
        # The centre says why, with Retry (EmptyState); the status bar keeps it at hand.
        self.status.show_database_error(message)
        self.status.show_connections(*describe_connections(self.controller.settings))

    @Slot(object)
    def _feed_status(self, status: FeedStatus) -> None:
        self.status.show_feed_status(status)

    # -- adding files --------------------------------------------------------------------------

    @Slot(list)
    def add_paths(self, paths: list[Path]) -> None:
        self.banner.hide()
        self.ingest_flow.start(paths)

    def browse(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self, "Add spreadsheets", str(Path.home()), _FILE_FILTER
        )
        if names:
            self.add_paths([Path(name) for name in names])

    def add_samples(self) -> None:
        self.add_paths(sample_files())

    @Slot(list)
    def show_refusals(self, refusals: list[Refusal]) -> None:
        shown = refusals[:5]
        lines = [f"Not added: {item.reason}" for item in shown]
        if len(refusals) > len(shown):
            lines.append(f"…and {len(refusals) - len(shown)} more not added.")
        if not any("Ingest Desk reads" in line for line in lines):
            lines.append(f"Ingest Desk reads {SUPPORTED_LABEL}.")
        self.show_banner("\n".join(lines), Tone.ATTENTION)

    def show_banner(self, text: str, tone: Tone) -> None:
        color = TONE_COLORS[tone]
        self.banner.setStyleSheet(
            f"QLabel#banner {{ border-left: 4px solid {color}; padding: 6px 10px; "
            "background: palette(alternate-base); }"
        )
        self.banner.setText(text)
        self.banner.show()

    # -- selection and details -----------------------------------------------------------------

    def selected_task(self) -> Task | None:
        return self.selection.current()

    def select_task(self, task_id: str) -> bool:
        return self.selection.select(task_id)

    @Slot(QModelIndex, QModelIndex)
    def _selection_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._refresh_details(force=True)
        self._update_actions()

    @Slot(QModelIndex, QModelIndex)
    def _model_changed(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        task = self.details.task
        if task is None:
            return
        row = self.model.row_of(task.id)
        if row is not None and top_left.row() <= row <= bottom_right.row():
            self._refresh_details(force=False)
            self._update_actions()

    def _refresh_details(self, *, force: bool) -> None:
        task = self.selected_task()
        if task is None:
            self.details.show_task(None, None, can_export=False)
            return
        current = self.details.task
        if not force and current is not None and current.version == task.version:
            return  # a repaint-only change (rows read); the panel shows nothing that moved
        report = self.controller.report(task.id)
        self.details.show_task(
            task, report, can_export=report is not None and bool(report.errors),
            loading=report is None and self.controller.reports.loading(task),
        )

    @Slot(str)
    def _report_ready(self, task_id: str) -> None:
        selected = self.selected_task()
        if selected is not None and selected.id == task_id:
            self._refresh_details(force=True)

    @Slot(RunResult)
    def _task_validated(self, result: RunResult) -> None:
        selected = self.selected_task()
        if selected is not None and selected.id == result.task.id:
            self._refresh_details(force=True)

    def _update_actions(self) -> None:
        task = self.selected_task()
        has = task is not None
        self.copy_id_action.setEnabled(has)
        self.remove_action.setEnabled(has)
        self.cancel_action.setEnabled(has and task is not None and not task.state.is_terminal)
        self.retry_action.setEnabled(
            task is not None
            and task.state in RETRYABLE_STATES
            and self.controller.holds_file(task)
        )

    def send_ready(self) -> None:
        sent = self.controller.send_ready()
        if sent:
            self.status.showMessage(f"Sending {sent} ready file{'s' if sent != 1 else ''}.", 6000)
        else:
            self.status.showMessage(
                "No file here is waiting for S3 and Druid (or they are not set yet).", 6000
            )

    @Slot()
    def _update_stack(self) -> None:
        empty = self.model.rowCount() == 0
        self.stack.setCurrentIndex(0 if empty else 1)
        # With nothing to select, the details panel would only take room from the explanation.
        self.details.setVisible(not empty)

    # -- actions -------------------------------------------------------------------------------

    def _on_selected(self, act: Callable[[str], None]) -> None:
        task = self.selected_task()
        if task is not None:
            act(task.id)

    def copy_task_id(self) -> None:
        task = self.selected_task()
        if task is not None:
            QGuiApplication.clipboard().setText(task.id)
            self.status.showMessage(f"Copied task id {task.id}", 4000)

    def remove_selected(self) -> None:
        task = self.selected_task()
        if task is not None and self.model.hide_task(task.id):
            self.hidden.add(task.id)
            self.controller.remove(task.id)
            self.status.showMessage(
                f"Removed {task.file_name} from this view; its history stays in the store.", 6000
            )

    @Slot(str)
    def export_errors(self, task_id: str) -> None:
        task = self.model.task_by_id(task_id)
        stem = task.file_name.split(".")[0] if task else "errors"
        target, _ = QFileDialog.getSaveFileName(
            self,
            "Export rows with errors",
            str(Path.home() / f"{stem}-errors.xlsx"),
            "Excel workbook (*.xlsx);;CSV (*.csv)",
        )
        if target:
            self.controller.export_errors(task_id, Path(target))

    def _context_menu_at_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self._context_menu(self.table.visualRect(index).center())

    def _context_menu(self, position: QPoint) -> None:
        if not self.table.indexAt(position).isValid():
            return
        menu = QMenu(self)
        for action in (
            self.cancel_action, self.retry_action, self.copy_id_action, self.remove_action,
            self.druid.console_action, self.review.action,
        ):
            menu.addAction(action)
        menu.popup(self.table.viewport().mapToGlobal(position))

    # -- settings ------------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        """Modeless (open(), not exec()), so tests and the live table keep their event loop."""
        dialog = SettingsDialog(self.controller.settings, self.controller.workers, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._settings_saved)
        dialog.open()
        return dialog

    @Slot(SavedSettings)
    def _settings_saved(self, saved: SavedSettings) -> None:
        # A session is wired to its store, bucket and cluster when it opens; swapping them under
        # running validations is not worth the risk, so the new ones apply from the next start.
        self.controller.settings = saved.settings
        self.notifications.notifier.enabled = saved.settings.notify_when_done
        apply_theme_choice(saved.settings.theme)
        s3, druid = describe_connections(saved.settings)
        self.status.show_connections(s3, druid, pending_restart=saved.restart_needed)
        held = f" {held_sentence(saved.held_in_memory)}" if saved.held_in_memory else ""
        if saved.database_changed and self.controller.retry_open():
            # No store was open (it had failed): connect with the new settings now.
            self.status.showMessage("Settings saved; connecting to the task database…" + held, 6000)
        elif saved.database_changed:
            self.show_banner(
                "Settings saved. Restart Ingest Desk to connect to the new task database."
                + held,
                Tone.ATTENTION,
            )
        elif saved.restart_needed:
            self.show_banner(
                "Settings saved. Restart Ingest Desk to upload with the new S3 and Druid "
                "settings." + held,
                Tone.ATTENTION,
            )
        else:
            self.status.showMessage("Settings saved.", 4000)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.quit_guard.allows_close():
            event.ignore()
            return
        save_layout(self.parts)
        self.controller.shutdown()
        super().closeEvent(event)


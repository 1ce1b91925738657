"""From a drop to tasks: look at the files on a worker, then ask (the dialog) or use templates."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from app.domain.store import StoredTemplate
from app.pipeline.choices import IngestChoices, choices_from_template
from app.pipeline.look import DropLook, look_at_drop, save_template
from app.services.settings import env_overrides, save_settings
from app.ui.controller import DeskController
from app.ui.ingest_dialog import IngestDialog
from app.ui.ingest_drafts import IngestRequest, TemplateToSave
from app.ui.workers import WorkerContext, WorkerFailure


class IngestFlow(QObject):
    """The window's drop handler; messages go out through the controller's signals."""

    dialogOpened = Signal(object)  # IngestDialog
    # Files started without the dialog, because every one matched a shared template.
    startedWithTemplates = Signal(list)  # list[str], the template names

    def __init__(self, controller: DeskController, parent: QWidget) -> None:
        super().__init__(parent)
        self._controller = controller
        self._parent = parent
        self.dialog: IngestDialog | None = None
        controller.sessionReady.connect(self._session_ready)

    @Slot(list)
    def start(self, paths: list[Path]) -> None:
        """Look at the dropped files (folders expanded) before any task exists."""
        controller = self._controller
        session = controller.session
        if session is None:
            controller.hold(paths, ask=True)  # kept for whichever store opens, then asked
            return
        settings, store = controller.settings, session.store

        def look(context: WorkerContext[None]) -> DropLook:
            return look_at_drop(paths, settings, store, cancelled=context.cancelled)

        controller.notice.emit("Looking at the dropped files…")
        controller.workers.start(
            "look at the dropped files", look, on_finished=self._on_looked,
            on_failed=self._on_failed,
        )

    @Slot(object)
    def _session_ready(self, _info: object) -> None:
        waiting = self._controller.waiting.take(ask=True)
        if waiting:
            self.start(waiting)

    @Slot(object)
    def _on_looked(self, drop: DropLook) -> None:
        controller = self._controller
        if drop.refused:
            controller.refused.emit(list(drop.refused))
        if not drop.files:
            return
        if drop.all_match_templates and controller.settings.skip_dialog_when_template_matches:
            files: list[tuple[Path, IngestChoices]] = []
            names: list[str] = []
            for look in drop.files:
                assert look.template is not None  # all_match_templates
                chosen = choices_from_template(look.template, look.suggested_datasource)
                if not look.is_workbook:
                    chosen = replace(chosen, sheet=None)  # a template made from a workbook
                files.append((look.path, chosen))
                names.append(look.template.name)
            controller.add_files(files)
            used = sorted(set(names))
            count = len(files)
            controller.notice.emit(
                f"Added {count} file{'s' if count != 1 else ''} with the shared template"
                f"{'s' if len(used) != 1 else ''} {', '.join(repr(n) for n in used)} "
                "(no questions: every file matched)."
            )
            self.startedWithTemplates.emit(used)
            return
        dialog = IngestDialog(drop, controller.settings, controller.workers, self._parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.startRequested.connect(self._on_start)
        dialog.destroyed.connect(self._forget_dialog)
        self.dialog = dialog
        dialog.open()
        self.dialogOpened.emit(dialog)

    @Slot()
    def _forget_dialog(self) -> None:
        self.dialog = None

    @Slot(object)
    def _on_start(self, request: IngestRequest) -> None:
        controller = self._controller
        session = controller.session
        controller.add_files(list(request.files))
        if session is not None:
            store, client_id = session.store, session.client.id
            for item in request.templates:

                def save(_: WorkerContext[None], item: TemplateToSave = item) -> StoredTemplate:
                    return save_template(store, client_id, item.name, item.look, item.choices)

                controller.workers.start(
                    f"save the shared template '{item.name}'", save,
                    on_finished=self._on_template_saved, on_failed=self._on_failed,
                )
        skip = request.skip_when_template_matches
        if skip != controller.settings.skip_dialog_when_template_matches:
            self._remember_skip(skip)

    def _remember_skip(self, skip: bool) -> None:
        controller = self._controller
        updated = controller.settings.model_copy(
            update={"skip_dialog_when_template_matches": skip}
        )
        controller.settings = updated
        keep = env_overrides()
        controller.workers.start(
            "save the settings", lambda _ctx: save_settings(updated, keep=keep),
            on_failed=self._on_failed,
        )

    @Slot(object)
    def _on_template_saved(self, stored: StoredTemplate) -> None:
        template = stored.template
        self._controller.notice.emit(
            f"Saved the shared template '{template.name}' (version {template.version})."
        )

    @Slot(WorkerFailure)
    def _on_failed(self, failure: WorkerFailure) -> None:
        self._controller.operationFailed.emit(failure)

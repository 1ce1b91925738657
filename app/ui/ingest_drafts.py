"""The ingest dialog's per-file working state, and what Start hands over."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.domain.rules import Template
from app.domain.tasks import IngestMode
from app.domain.validation import DateOrder
from app.pipeline.choices import IngestChoices, choices_from_template
from app.pipeline.look import FileLook, datasource_problem


@dataclass(frozen=True, slots=True)
class TemplateToSave:
    name: str
    look: FileLook
    choices: IngestChoices


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """What Start hands over: each file with its choices, templates to save, the skip setting."""

    files: tuple[tuple[Path, IngestChoices], ...]
    templates: tuple[TemplateToSave, ...]
    skip_when_template_matches: bool

    @classmethod
    def from_drafts(cls, drafts: list[FileDraft], *, skip: bool) -> IngestRequest:
        files = tuple((draft.look.path, draft.choices()) for draft in drafts)
        templates = tuple(
            TemplateToSave(draft.save_as, draft.look, draft.choices())
            for draft in drafts
            if draft.save_as and draft.look.problem is None
        )
        return cls(files, templates, skip)


@dataclass
class FileDraft:
    """The dialog's working copy of one file's choices (mutable; frozen choices come out)."""

    look: FileLook
    datasource: str
    mode: IngestMode = IngestMode.APPEND
    template: Template | None = None
    timestamp_column: str | None = None  # None: validation picks (the look's best candidate)
    date_order: DateOrder | None = None
    sheet: str | None = None  # None: the reader picks
    save_as: str | None = None  # a shared template name to save these choices under

    @classmethod
    def for_look(cls, look: FileLook) -> FileDraft:
        draft = cls(look, look.suggested_datasource)
        if look.template is not None:
            draft.use_template(look.template)
        return draft

    def use_template(self, template: Template | None) -> None:
        self.template = template
        if template is None:
            return
        chosen = choices_from_template(template, self.datasource)
        self.datasource, self.mode = chosen.datasource, chosen.mode
        self.timestamp_column = chosen.timestamp_column
        self.date_order = chosen.date_order
        if chosen.sheet and any(s.name == chosen.sheet for s in self.look.sheets):
            self.sheet = chosen.sheet

    @property
    def problem(self) -> str | None:
        return datasource_problem(self.datasource)

    def choices(self) -> IngestChoices:
        return IngestChoices(
            datasource=self.datasource.strip(),
            mode=self.mode,
            sheet=self.sheet,
            template=self.template,
            timestamp_column=self.timestamp_column,
            date_order=self.date_order,
        )


def look_summary(look: FileLook) -> str:
    """The line under the file's name: what was read and what the guesses rest on."""
    if look.problem:
        return f"Cannot be read: {look.problem} Start adds it as a task that says why."
    kind = "Workbook" if look.is_workbook else "Text file"
    where = f", sheet '{look.sheet}'" if look.sheet else ""
    text = (
        f"{kind}{where}: {len(look.columns)} columns; types below are guessed from the "
        f"first {look.sample_rows:,} rows and checked on every row after Start."
    )
    if look.template is not None:
        text += f" Matches the shared template '{look.template.name}'."
    if not look.candidates:
        text += " No column reads as dates in the sample."
    return text

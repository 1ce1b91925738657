"""The ingest dialog's per-file working state, and what Start hands over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.domain.druid import SegmentGranularity
from app.domain.rules import ColumnRule, Template
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
    # Corrections of the reader's guesses and of the columns (None / empty: as sniffed).
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None
    timezone: str | None = None
    constant_timestamp: datetime | None = None
    columns: tuple[ColumnRule, ...] = ()
    columns_problem: str | None = None  # a Druid name the grid refuses, with the reason
    segment_granularity: SegmentGranularity | None = None  # None: Druid's own or fitted

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
        self.encoding, self.delimiter = chosen.encoding, chosen.delimiter
        self.header_row = chosen.header_row
        self.segment_granularity = chosen.segment_granularity
        self.timezone = template.timezone
        self.columns = ()  # the template's own rules now show in the grid
        if chosen.sheet and any(s.name == chosen.sheet for s in self.look.sheets):
            self.sheet = chosen.sheet

    @classmethod
    def for_choices(cls, look: FileLook, choices: IngestChoices) -> FileDraft:
        """A draft holding a task's current choices (Review corrects them)."""
        return cls(
            look, choices.datasource, choices.mode, choices.template, choices.timestamp_column,
            choices.date_order, choices.sheet, None, choices.encoding, choices.delimiter,
            choices.header_row, choices.timezone, choices.constant_timestamp, choices.columns,
        )

    @property
    def problem(self) -> str | None:
        return datasource_problem(self.datasource) or self.columns_problem

    def choices(self) -> IngestChoices:
        return IngestChoices(
            datasource=self.datasource.strip(),
            mode=self.mode,
            sheet=self.sheet,
            template=self.template,
            timestamp_column=self.timestamp_column,
            date_order=self.date_order,
            encoding=self.encoding,
            delimiter=self.delimiter,
            header_row=self.header_row,
            timezone=self.timezone,
            constant_timestamp=self.constant_timestamp,
            columns=self.columns,
            segment_granularity=self.segment_granularity,
        )

    def looked_again(self, look: FileLook) -> None:
        """A new look (another sheet or reading): corrections of vanished columns go."""
        names = set(look.column_names)
        self.look = look
        self.columns = tuple(rule for rule in self.columns if rule.name in names)
        if self.timestamp_column not in names:
            self.timestamp_column = None  # its own best timestamp guess applies


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

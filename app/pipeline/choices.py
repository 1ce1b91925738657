"""What the user chose for one dropped file, and the read/validate/ingest options that follow."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.rules import Template
from app.domain.tasks import IngestMode, Task
from app.domain.validation import DateOrder
from app.services.druid import SpecOptions
from app.services.reading import ReadOptions
from app.services.settings import Settings
from app.services.validation import ValidateOptions


@dataclass(frozen=True, slots=True)
class IngestChoices:
    """Chosen in the ingest dialog (or taken from a matching template) before the task exists.

    None means "as the file and the template say": the reader picks the sheet, validation
    picks the timestamp column and asks about an ambiguous date order.
    """

    datasource: str
    mode: IngestMode = IngestMode.APPEND
    sheet: str | None = None
    template: Template | None = None
    timestamp_column: str | None = None
    date_order: DateOrder | None = None


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How one run of the pipeline reads, checks and hands the file to Druid."""

    read: ReadOptions | None = None
    validate: ValidateOptions | None = None
    # The user's yes to an earlier ingestion of the same content, or to changed column types.
    allow_duplicate: bool = False
    allow_drift: bool = False
    # False stops once Druid accepted the task: ingesting and verifying are adoptable by any
    # desk, and a later `ingest --wait` of the same file picks them up.
    wait: bool = True
    spec: SpecOptions = field(default_factory=SpecOptions)
    poll_interval_s: float = 1.0
    ingest_timeout_s: float = 3600.0
    verify_timeout_s: float = 300.0


def choices_from_template(template: Template, datasource: str) -> IngestChoices:
    """A template's own choices; its datasource wins over the one suggested by the file name."""
    mode = IngestMode.REPLACE if template.mode == IngestMode.REPLACE.value else IngestMode.APPEND
    return IngestChoices(
        datasource=template.datasource or datasource,
        mode=mode,
        sheet=template.sheet,
        template=template,
        timestamp_column=template.timestamp_column,
        date_order=template.date_order,
    )


def task_choices(task: Task) -> IngestChoices:
    """What the task row itself records, for a task whose dialog choices this desk does not hold."""
    return IngestChoices(task.datasource, task.mode, task.sheet)


def read_options(choices: IngestChoices, settings: Settings) -> ReadOptions:
    return ReadOptions.for_settings(settings, choices.sheet)


def validate_options(choices: IngestChoices, settings: Settings) -> ValidateOptions:
    # The template's timestamp column and date order apply through ValidateOptions.template;
    # the explicit fields only carry what the user picked over it.
    return ValidateOptions.for_settings(
        settings,
        datasource=choices.datasource,
        template=choices.template,
        date_order=choices.date_order,
        timestamp_column=choices.timestamp_column,
    )


def ingest_options(choices: IngestChoices, settings: Settings) -> IngestOptions:
    """The run options that follow from the user's choices (the window and the CLI alike)."""
    return IngestOptions(
        read=read_options(choices, settings), validate=validate_options(choices, settings)
    )

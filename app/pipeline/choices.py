"""What the user chose for one dropped file, and the read/validate/ingest options that follow."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.domain.druid import SegmentGranularity
from app.domain.rules import ColumnRule, Template
from app.domain.tasks import IngestMode, Task
from app.domain.validation import ColumnType, DateOrder
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
    # Corrections of the reader's guesses (None: as sniffed).
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None  # 1-based
    timezone: str | None = None  # for times written without a zone (None: the settings')
    # One instant for every row, for files without a date column.
    constant_timestamp: datetime | None = None
    # Per-column corrections by source column name: Druid name, type, skip. They win over the
    # template's rule for the same column (see effective_template).
    columns: tuple[ColumnRule, ...] = ()
    # Druid's time chunk; None: the datasource's own, else fitted to the file's span.
    segment_granularity: SegmentGranularity | None = None

    def column(self, name: str) -> ColumnRule | None:
        for rule in self.columns:
            if rule.name == name:
                return rule
        return None


def effective_template(choices: IngestChoices) -> Template | None:
    """The template the validation reads: the chosen one with the user's column corrections
    laid over its rules (an override replaces rename/type/skip, the rule's checks stay)."""
    if not choices.columns:
        return choices.template
    base = choices.template or Template(name=f"{choices.datasource} (this file)")
    rules = {rule.name: rule for rule in base.columns}
    for override in choices.columns:
        kept = rules.get(override.name)
        rules[override.name] = (
            replace(kept, rename=override.rename, type=override.type, skip=override.skip)
            if kept is not None
            else override
        )
    return replace(base, columns=tuple(rules.values()))


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
    # The user's granularity; None lets the upload step choose (see druid.granularity).
    segment_granularity: SegmentGranularity | None = None
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
        segment_granularity=(
            SegmentGranularity(template.segment_granularity)
            if template.segment_granularity else None
        ),
        encoding=template.encoding,
        delimiter=template.delimiter,
        header_row=template.header_row,
    )


def task_choices(task: Task) -> IngestChoices:
    """What the task row itself records, for a task whose dialog choices this desk does not hold."""
    return IngestChoices(task.datasource, task.mode, task.sheet)


def read_options(choices: IngestChoices, settings: Settings) -> ReadOptions:
    return replace(
        ReadOptions.for_settings(settings, choices.sheet),
        encoding=choices.encoding,
        delimiter=choices.delimiter,
        header_row=choices.header_row,
    )


def validate_options(choices: IngestChoices, settings: Settings) -> ValidateOptions:
    # The template's timestamp column and date order apply through ValidateOptions.template;
    # the explicit fields only carry what the user picked over it.
    options = ValidateOptions.for_settings(
        settings,
        datasource=choices.datasource,
        template=effective_template(choices),
        date_order=choices.date_order,
        timestamp_column=choices.timestamp_column,
    )
    return replace(
        options,
        timezone=choices.timezone or options.timezone,
        constant_timestamp=choices.constant_timestamp,
    )


def ingest_options(choices: IngestChoices, settings: Settings) -> IngestOptions:
    """The run options that follow from the user's choices (the window and the CLI alike)."""
    return IngestOptions(
        read=read_options(choices, settings), validate=validate_options(choices, settings),
        segment_granularity=choices.segment_granularity,
    )


# -- the choices as JSON: kept on the task, so any desk (and a restart) re-reads the same way ----


def _rule_to_dict(rule: ColumnRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "rename": rule.rename,
        "type": rule.type.value if rule.type else None,
        "skip": rule.skip,
    }


def choices_to_dict(choices: IngestChoices) -> dict[str, Any]:
    """What the user chose, for the task row; a template is named, not copied."""
    return {
        "datasource": choices.datasource,
        "mode": choices.mode.value,
        "sheet": choices.sheet,
        "template": choices.template.name if choices.template else None,
        "timestamp_column": choices.timestamp_column,
        "date_order": choices.date_order.value if choices.date_order else None,
        "encoding": choices.encoding,
        "delimiter": choices.delimiter,
        "header_row": choices.header_row,
        "timezone": choices.timezone,
        "constant_timestamp": (
            choices.constant_timestamp.isoformat() if choices.constant_timestamp else None
        ),
        "columns": [_rule_to_dict(rule) for rule in choices.columns],
        "segment_granularity": (
            choices.segment_granularity.value if choices.segment_granularity else None
        ),
    }


def choices_from_dict(data: dict[str, Any], template: Template | None = None) -> IngestChoices:
    """The inverse of choices_to_dict; `template` is the named one as the store now holds it."""
    moment = data.get("constant_timestamp")
    order = data.get("date_order")
    return IngestChoices(
        datasource=str(data["datasource"]),
        mode=IngestMode(data.get("mode") or IngestMode.APPEND.value),
        sheet=data.get("sheet"),
        template=template,
        timestamp_column=data.get("timestamp_column"),
        date_order=DateOrder(order) if order else None,
        encoding=data.get("encoding"),
        delimiter=data.get("delimiter"),
        header_row=data.get("header_row"),
        timezone=data.get("timezone"),
        constant_timestamp=datetime.fromisoformat(moment) if moment else None,
        columns=tuple(
            ColumnRule(
                name=str(item["name"]),
                rename=item.get("rename"),
                type=ColumnType(item["type"]) if item.get("type") else None,
                skip=bool(item.get("skip")),
            )
            for item in data.get("columns", [])
        ),
        segment_granularity=(
            SegmentGranularity(data["segment_granularity"])
            if data.get("segment_granularity") else None
        ),
    )

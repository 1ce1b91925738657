"""A quick look at dropped files before any task exists: what the ingest dialog offers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.domain.druid import GranularityChoice, ReplacePreview, SchemaDrift
from app.domain.rules import ColumnRule, Template
from app.domain.store import StoredTemplate
from app.domain.validation import ColumnType, DateOrder, SheetInfo, SourceKind
from app.pipeline.choices import IngestChoices, effective_template, read_options
from app.pipeline.intake import Refusal, collect_sources, datasource_slug
from app.pipeline.summary import upload_configured
from app.services.reading import ReadOptions, UnreadableFileError
from app.services.settings import Settings
from app.services.store import TaskStore
from app.services.validation.datasource_name import column_name_problem, datasource_issues

if TYPE_CHECKING:
    # Imported where used: the window imports this module, and the reading and sampling
    # modules load Polars, which the window needs only once a file is looked at.
    from app.services.validation.sample import SampleColumn, TimestampCandidate
    from app.services.validation.time_range import FileTimeRange, TimeRangeRequest

log = logging.getLogger(__name__)
__all__ = ["column_name_problem"]  # Druid's column name rules, for the window's grid

# Listing datasources must not hold the dialog for Druid's patient default timeout.
_DRUID_LOOK_TIMEOUT_S = 10.0
_EARLIER_TASKS = 500
UPLOADS_NEED_REMOTE = "Uploads need S3 and Druid (Settings); these files will be validated only."


@dataclass(frozen=True, slots=True)
class FileLook:
    """What the first rows of one file say; `problem` is set when the file cannot be read."""

    path: Path
    suggested_datasource: str
    kind: SourceKind | None = None
    sheets: tuple[SheetInfo, ...] = ()  # workbooks only
    sheet: str | None = None  # the sheet looked at
    columns: tuple[SampleColumn, ...] = ()
    source_names: tuple[str, ...] = ()  # header text as written, beside `columns`
    candidates: tuple[TimestampCandidate, ...] = ()  # timestamp columns, best first
    sample_rows: int = 0
    template: Template | None = None  # the shared template that matches, if any
    problem: str | None = None
    # Where the data sits in a workbook, for the one-column time range read.
    header_row: int = 1
    data_rows: int | None = None
    date1904: bool = False
    # What the reader decided (encoding, delimiter, header_row ...) as (name, value, reason).
    decisions: tuple[tuple[str, str, str], ...] = ()
    # The corrections this look was read with (None: as sniffed).
    encoding: str | None = None
    delimiter: str | None = None
    header_row_override: int | None = None

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def is_workbook(self) -> bool:
        return self.kind is SourceKind.EXCEL

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def decided(self, name: str) -> str | None:
        """What the reader decided for `name` (e.g. "encoding"), or None."""
        return next((value for key, value, _ in self.decisions if key == name), None)

    def sample_column(self, name: str) -> SampleColumn | None:
        return next((column for column in self.columns if column.name == name), None)

    @property
    def date_order_ambiguous(self) -> bool:
        """The best timestamp candidate's sampled values read both day- and month-first."""
        return bool(self.candidates) and self.candidates[0].ambiguous

    def candidate(self, column: str | None) -> TimestampCandidate | None:
        for item in self.candidates:
            if item.column == column:
                return item
        return self.candidates[0] if column is None and self.candidates else None


@dataclass(frozen=True, slots=True)
class DruidCatalog:
    """The datasources Druid has now, or a one-line note why they are not known."""

    datasources: tuple[str, ...] = ()
    note: str | None = None
    available: bool = False  # Druid answered: drift and replace previews can be asked for


@dataclass(frozen=True, slots=True)
class DropLook:
    files: tuple[FileLook, ...]
    refused: tuple[Refusal, ...]
    templates: tuple[Template, ...]
    catalog: DruidCatalog
    earlier_datasources: tuple[str, ...]  # named in this store's tasks, newest first
    uploads_configured: bool

    @property
    def all_match_templates(self) -> bool:
        return bool(self.files) and all(
            item.template is not None and item.problem is None for item in self.files
        )


@dataclass(frozen=True, slots=True)
class ReplaceFigures:
    """What a replace overwrites: the file's full time range and Druid's rows in those days."""

    time_range: FileTimeRange
    preview: ReplacePreview
    segments: GranularityChoice  # the time chunks the replace works in


def datasource_problem(name: str) -> str | None:
    """Druid's naming rules for a datasource; the reason in words, or None when it is fine."""
    issues = datasource_issues(name)
    return issues[0].message if issues else None


def matching_template(
    columns: Sequence[str], datasource: str, templates: Sequence[Template]
) -> Template | None:
    """The template for this file: every column it names is in the file; its datasource
    agreeing with the file's suggested name breaks ties, then the most columns named. A
    template without column rules matches by datasource alone."""
    present = set(columns)
    best: tuple[bool, int] | None = None
    chosen: Template | None = None
    for template in templates:
        names = {rule.name for rule in template.columns}
        same_source = template.datasource == datasource
        if names:
            if not names <= present:
                continue
        elif not same_source:
            continue
        key = (same_source, len(names))
        if best is None or key > best:
            best, chosen = key, template
    return chosen


def _decision(source_decisions: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in source_decisions:
        if key == name:
            return value
    return None


def look_at_file(
    path: Path,
    settings: Settings,
    templates: Sequence[Template] = (),
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    header_row: int | None = None,
) -> FileLook:
    """Open the file, read the sample only; never raises for a file that cannot be read.

    `encoding`, `delimiter` and `header_row` correct the reader's guesses (None: as sniffed).
    """
    from app.services.reading import list_sheets, open_source  # noqa: PLC0415 - see top
    from app.services.validation.sample import look_at_sample  # noqa: PLC0415

    suggested = datasource_slug(path.name)
    read = replace(
        ReadOptions.for_settings(settings, sheet),
        encoding=encoding, delimiter=delimiter, header_row=header_row,
    )
    try:
        source = open_source(path, read)
        try:
            sample = look_at_sample(source, zone=settings.default_timezone)
            sheets = source.sheets
            if source.kind is SourceKind.EXCEL and len(sheets) <= 1:
                sheets = list_sheets(path)  # a named sheet was read alone: list the others
            decisions = [(d.name, d.value) for d in source.decisions]
            header = _decision(decisions, "header_row")
            chosen = next((s for s in sheets if s.name == source.sheet), None)
            look = FileLook(
                path=path,
                suggested_datasource=suggested,
                kind=source.kind,
                sheets=sheets if source.kind is SourceKind.EXCEL else (),
                sheet=source.sheet,
                columns=sample.columns,
                source_names=source.source_names,
                candidates=sample.candidates,
                sample_rows=sample.rows,
                header_row=int(header) if header and header.isdigit() else 1,
                data_rows=chosen.rows if chosen is not None else None,
                date1904=_decision(decisions, "date_system") == "1904",
                decisions=tuple((d.name, d.value, d.reason) for d in source.decisions),
                encoding=encoding,
                delimiter=delimiter,
                header_row_override=header_row,
            )
        finally:
            source.close()
    except UnreadableFileError as exc:
        return FileLook(path, suggested, problem=exc.message)
    except OSError as exc:
        return FileLook(path, suggested, problem=f"{path.name} cannot be opened: {exc.strerror}")
    except Exception as exc:  # a look must not fail the drop; validation explains it later
        log.exception("quick look at %s failed", path)
        return FileLook(path, suggested, problem=f"{path.name} could not be read: {exc}")
    template = matching_template(look.column_names, suggested, templates)
    if template is None:
        return look
    wanted = template.sheet
    known = any(s.name == wanted for s in look.sheets)
    if sheet is None and wanted and look.is_workbook and wanted != look.sheet and known:
        # The template names the sheet; the sample of the biggest one is not what it means.
        return look_at_file(
            path, settings, templates, sheet=wanted, encoding=encoding, delimiter=delimiter,
            header_row=header_row,
        )
    return replace(look, template=template)


def druid_catalog(settings: Settings) -> DruidCatalog:
    """Druid's datasources; any failure is a note for the dialog, never an exception."""
    if not settings.druid_url:
        return DruidCatalog()
    from app.services.druid import DruidClient, DruidError, RetryPolicy  # noqa: PLC0415

    quick = settings.model_copy(
        update={"druid_timeout_s": min(settings.druid_timeout_s, _DRUID_LOOK_TIMEOUT_S)}
    )
    try:
        with DruidClient.from_settings(quick, retry=RetryPolicy(attempts=1)) as client:
            return DruidCatalog(client.datasources(), available=True)
    except DruidError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DruidCatalog(note=f"Druid's datasources could not be listed: {first}")


def shared_templates(store: TaskStore) -> tuple[Template, ...]:
    return tuple(stored.template for stored in store.templates.list_latest())


def earlier_datasources(store: TaskStore, limit: int = _EARLIER_TASKS) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for task in store.tasks.list_tasks(limit=limit):
        seen.setdefault(task.datasource, None)
    return tuple(seen)


def look_at_drop(
    paths: Sequence[Path],
    settings: Settings,
    store: TaskStore,
    *,
    cancelled: Callable[[], bool] = lambda: False,
) -> DropLook:
    """Folders expanded, unsupported files refused, each accepted file looked at; plus what
    the dialog suggests from (templates, Druid's datasources, earlier tasks)."""
    found = collect_sources(paths)
    templates = shared_templates(store)
    looks: list[FileLook] = []
    for path in found.accepted:
        if cancelled():
            break
        looks.append(look_at_file(path, settings, templates))
    catalog = druid_catalog(settings) if upload_configured(settings) else DruidCatalog()
    return DropLook(
        files=tuple(looks),
        refused=found.refused,
        templates=templates,
        catalog=catalog,
        earlier_datasources=earlier_datasources(store),
        uploads_configured=upload_configured(settings),
    )


# -- checks for a settled choice -----------------------------------------------------------------


def _time_request(look: FileLook, choices: IngestChoices, settings: Settings) -> TimeRangeRequest:
    from app.services.validation.time_range import TimeRangeRequest  # noqa: PLC0415 - see top

    candidate = look.candidate(choices.timestamp_column)
    template = choices.template
    if candidate is None and template is not None and template.timestamp_column:
        candidate = look.candidate(template.timestamp_column)
    if candidate is None:
        raise ValueError(f"{look.file_name} has no column that reads as dates.")
    order = choices.date_order or (template.date_order if template else None)
    if candidate.ambiguous and order is None:
        raise ValueError(
            f"Choose whether the dates in '{candidate.column}' are day first or month first."
        )
    pattern = candidate.format_for(order)
    if pattern is None:
        raise ValueError(f"The values in '{candidate.column}' are not dates in a known format.")
    zone = (template.timezone if template and template.timezone else None)
    index = look.column_names.index(candidate.column)
    return TimeRangeRequest(
        path=look.path,
        column=candidate.column,
        format=pattern,
        zone=zone or settings.default_timezone,
        read=replace(read_options(choices, settings), sheet=look.sheet),
        source_name=look.source_names[index] if index < len(look.source_names) else None,
        header_row=look.header_row,
        data_rows=look.data_rows,
        date1904=look.date1904,
    )


class CheckFailed(Exception):
    """A replace preview or drift check could not be made: the file or Druid said why."""


def time_range_of(look: FileLook, choices: IngestChoices, settings: Settings) -> FileTimeRange:
    """The file's full time range from a fast pass over the chosen timestamp column."""
    from app.services.validation.time_range import file_time_range  # noqa: PLC0415 - see top

    return file_time_range(_time_request(look, choices, settings))


def replace_figures(look: FileLook, choices: IngestChoices, settings: Settings) -> ReplaceFigures:
    """What replacing `choices.datasource` with this file overwrites, with Druid's real counts.

    CheckFailed says why not (the file unreadable, no dates, Druid unreachable)."""
    from app.services.druid import DruidClient, DruidError  # noqa: PLC0415
    from app.services.druid.drift import preview_range  # noqa: PLC0415
    from app.services.druid.granularity import choose_granularity  # noqa: PLC0415

    try:
        figures = time_range_of(look, choices, settings)
        if figures.min_ms is None or figures.max_ms is None:
            raise CheckFailed(
                f"No row of {look.file_name} has a readable date, so nothing to replace."
            )
        with DruidClient.from_settings(settings) as client:
            segments = choose_granularity(
                client, choices.datasource, figures.min_ms, figures.max_ms, figures.dated,
                choices.segment_granularity,
            )
            preview = preview_range(
                client, choices.datasource, figures.min_ms, figures.max_ms, figures.rows,
                segments.granularity,
            )
    except (DruidError, UnreadableFileError, ValueError, OSError) as exc:
        raise CheckFailed(str(exc)) from exc
    return ReplaceFigures(figures, preview, segments)


def segment_plan(look: FileLook, choices: IngestChoices, settings: Settings) -> GranularityChoice:
    """How the file's rows will be cut into Druid time chunks: the user's choice, the
    datasource's own, or fitted to the file's span (a timestamp-only pass over the file)."""
    from app.services.druid import DruidClient, DruidError  # noqa: PLC0415
    from app.services.druid.granularity import choose_granularity  # noqa: PLC0415

    try:
        figures = time_range_of(look, choices, settings)
        if figures.min_ms is None or figures.max_ms is None:
            raise CheckFailed(f"No row of {look.file_name} has a readable date.")
        with DruidClient.from_settings(settings) as client:
            return choose_granularity(
                client, choices.datasource, figures.min_ms, figures.max_ms, figures.dated,
                choices.segment_granularity,
            )
    except (DruidError, UnreadableFileError, ValueError, OSError) as exc:
        raise CheckFailed(str(exc)) from exc


def null_handling_note(settings: Settings) -> str | None:
    """A sentence when the cluster stores blanks as 0 and '' (legacy null handling)."""
    from app.services.druid import DruidClient, DruidError  # noqa: PLC0415
    from app.services.druid.nulls import PROPERTY, sql_compatible_nulls  # noqa: PLC0415

    try:
        with DruidClient.from_settings(settings) as client:
            if sql_compatible_nulls(client):
                return None
    except (DruidError, ValueError, OSError):
        return None  # the check's own Druid call says what is wrong
    return (
        "This Druid stores blank values as 0 and empty strings (legacy null handling), not "
        f"NULL: blank numbers will count in AVG and MIN. {PROPERTY}=false fixes it."
    )


def staged_columns(look: FileLook, choices: IngestChoices) -> tuple[tuple[str, ColumnType], ...]:
    """The columns the staging file would carry (the timestamp column becomes __time), with
    the sample's types and the template's and the user's renames, type overrides and skips."""
    template = effective_template(choices)
    wanted = choices.timestamp_column or (template.timestamp_column if template else None)
    candidate = look.candidate(wanted)
    time_column = wanted or (candidate.column if candidate else None)
    staged: list[tuple[str, ColumnType]] = []
    for column in look.columns:
        if column.name == time_column:
            continue
        rule = template.rule(column.name) if template else None
        if rule is not None and rule.skip:
            continue
        name = rule.rename if rule and rule.rename else column.name
        staged.append((name, rule.type if rule and rule.type else column.type))
    return tuple(staged)


def drift_report(look: FileLook, choices: IngestChoices, settings: Settings) -> SchemaDrift:
    """New, missing and type-changed columns against the datasource Druid holds now
    (CheckFailed when Druid cannot be asked)."""
    from app.services.druid import DruidClient, DruidError, compare_columns  # noqa: PLC0415

    try:
        with DruidClient.from_settings(settings) as client:
            existing = client.columns(choices.datasource)
    except (DruidError, ValueError, OSError) as exc:
        raise CheckFailed(str(exc)) from exc
    return compare_columns(staged_columns(look, choices), existing)


def save_template(
    store: TaskStore, client_id: str, name: str, look: FileLook, choices: IngestChoices
) -> StoredTemplate:
    """These choices as the next version of a shared template (a new one when the name is new).

    Column rules of the template the user started from are kept; otherwise each column of the
    file is named, so the template matches the next file with the same columns.
    """
    base = choices.template
    if base is None or not base.columns:
        base_rules = tuple(ColumnRule(column) for column in look.column_names)
        base = replace(base, columns=base_rules) if base else Template(name, columns=base_rules)
    # The user's renames, types and skips are laid over the rules, so the template keeps them.
    merged = effective_template(replace(choices, template=base))
    columns = merged.columns if merged is not None else base.columns
    candidate = look.candidate(choices.timestamp_column)
    template = Template(
        name=name,
        datasource=choices.datasource,
        columns=columns,
        unique=base.unique,
        timestamp_column=candidate.column if candidate else None,
        date_order=_order_for(choices, candidate),
        timezone=choices.timezone or base.timezone,
        sheet=choices.sheet or (look.sheet if look.is_workbook else None),
        mode=choices.mode.value,
        encoding=choices.encoding,
        delimiter=choices.delimiter,
        header_row=choices.header_row,
        segment_granularity=(
            choices.segment_granularity.value if choices.segment_granularity else None
        ),
        extra=dict(base.extra),
    )
    latest = store.templates.latest(name)
    return store.templates.save(
        template, expected_version=latest.template.version if latest else 0, by_client=client_id
    )


def _order_for(choices: IngestChoices, candidate: TimestampCandidate | None) -> DateOrder | None:
    if choices.date_order is not None:
        return choices.date_order
    base = choices.template
    return base.date_order if base is not None and candidate is not None else None

"""Shared validation templates, versioned: saving never overwrites, it adds the next version."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.domain.rules import ColumnRule, Template
from app.domain.store import StoredTemplate
from app.domain.validation import ColumnType, DateOrder
from app.services.store.engine import now_expr
from app.services.store.errors import TemplateConflictError
from app.services.store.models import DATASET_TEMPLATES
from app.services.store.units import run_unit, unit

T = DATASET_TEMPLATES.c
_RULE_FIELDS = frozenset(f.name for f in dataclasses.fields(ColumnRule))
# The reader's corrections live in the `extra` JSON column (no migration), under these keys.
_READER_KEYS = (
    "reader.encoding", "reader.delimiter", "reader.header_row", "druid.segment_granularity"
)


def _extra_json(template: Template) -> dict[str, str]:
    extra = {k: v for k, v in template.extra.items() if k not in _READER_KEYS}
    for key, value in zip(
        _READER_KEYS,
        (template.encoding, template.delimiter, template.header_row,
         template.segment_granularity),
        strict=True,
    ):
        if value is not None:
            extra[key] = str(value)
    return extra


def _reader_fields(extra: dict[str, str]) -> dict[str, Any]:
    header = extra.get("reader.header_row")
    return {
        "encoding": extra.get("reader.encoding"),
        "delimiter": extra.get("reader.delimiter"),
        "header_row": int(header) if header and header.isdigit() else None,
        "segment_granularity": extra.get("druid.segment_granularity"),
    }


def _rule_json(rule: ColumnRule) -> dict[str, Any]:
    data = dataclasses.asdict(rule)
    data["type"] = rule.type.value if rule.type else None
    data["allowed"] = list(rule.allowed) if rule.allowed is not None else None
    return data


def _rule_from_json(data: dict[str, Any]) -> ColumnRule:
    # Fields a newer app added are dropped, so an older client can still open the template.
    known = {key: value for key, value in data.items() if key in _RULE_FIELDS}
    if known.get("type"):
        known["type"] = ColumnType(known["type"])
    if known.get("allowed") is not None:
        known["allowed"] = tuple(known["allowed"])
    return ColumnRule(**known)


def _to_stored(row: RowMapping) -> StoredTemplate:
    template = Template(
        name=row["name"],
        datasource=row["datasource"],
        columns=tuple(_rule_from_json(c) for c in row["columns"]),
        unique=tuple(tuple(key) for key in row["unique_keys"]),
        timestamp_column=row["timestamp_column"],
        date_order=DateOrder(row["date_order"]) if row["date_order"] else None,
        timezone=row["timezone"],
        sheet=row["sheet"],
        mode=row["mode"],
        version=row["version"],
        extra={k: v for k, v in dict(row["extra"]).items() if k not in _READER_KEYS},
        **_reader_fields(dict(row["extra"])),
    )
    return StoredTemplate(template=template, saved_at=row["saved_at"], saved_by=row["saved_by"])


class TemplateRepository:
    """Every read and save is a unit of work (units.py), repeated on transient faults."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def save(
        self, template: Template, *, expected_version: int, by_client: str | None
    ) -> StoredTemplate:
        """Store `template` as version expected_version + 1 (pass 0 for a new name).

        TemplateConflictError when someone else saved that version first: the unique
        (name, version) key makes the loser's insert fail, so no edit is silently lost.
        """
        return run_unit(
            self._engine,
            lambda retried: self._save_once(template, expected_version, by_client,
                                            retried=retried),
        )

    def _save_once(
        self, template: Template, expected_version: int, by_client: str | None, *, retried: bool
    ) -> StoredTemplate:
        try:
            with self._engine.begin() as conn:
                latest = conn.execute(
                    select(func.max(T.version)).where(T.name == template.name)
                ).scalar_one()
                if (latest or 0) != expected_version:
                    # A repeat re-reads: version + 1 saved by us is the attempt whose commit
                    # was not acknowledged, not a conflict.
                    mine = self._saved_by(conn, template.name, expected_version + 1, by_client)
                    if retried and mine is not None:
                        return mine
                    raise TemplateConflictError(template.name, expected_version)
                row = conn.execute(
                    insert(DATASET_TEMPLATES)
                    .values(
                        name=template.name,
                        version=expected_version + 1,
                        datasource=template.datasource,
                        columns=[_rule_json(c) for c in template.columns],
                        unique_keys=[list(key) for key in template.unique],
                        timestamp_column=template.timestamp_column,
                        date_order=template.date_order.value if template.date_order else None,
                        timezone=template.timezone,
                        mode=template.mode,
                        sheet=template.sheet,
                        extra=_extra_json(template),
                        saved_at=now_expr(self._engine),
                        saved_by=by_client,
                    )
                    .returning(*DATASET_TEMPLATES.c)
                ).mappings()
                return _to_stored(row.one())
        except IntegrityError as exc:
            raise TemplateConflictError(template.name, expected_version) from exc

    @staticmethod
    def _saved_by(
        conn: Connection, name: str, version: int, by_client: str | None
    ) -> StoredTemplate | None:
        if by_client is None:
            return None
        row = conn.execute(
            select(DATASET_TEMPLATES).where(
                T.name == name, T.version == version, T.saved_by == by_client
            )
        ).mappings().first()
        return _to_stored(row) if row else None

    @unit
    def latest(self, name: str) -> StoredTemplate | None:
        query = (
            select(DATASET_TEMPLATES).where(T.name == name).order_by(T.version.desc()).limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _to_stored(row) if row else None

    @unit
    def history(self, name: str) -> list[StoredTemplate]:
        query = select(DATASET_TEMPLATES).where(T.name == name).order_by(T.version)
        with self._engine.connect() as conn:
            return [_to_stored(row) for row in conn.execute(query).mappings()]

    @unit
    def list_latest(self) -> list[StoredTemplate]:
        newest = (
            select(T.name, func.max(T.version).label("version")).group_by(T.name).subquery()
        )
        query = (
            select(DATASET_TEMPLATES)
            .join(newest, (newest.c.name == T.name) & (newest.c.version == T.version))
            .order_by(T.name)
        )
        with self._engine.connect() as conn:
            return [_to_stored(row) for row in conn.execute(query).mappings()]

"""The shared task store: schema, compare-and-set state machine, change feed, leases, leader."""

from app.services.store.admin import SchemaChange
from app.services.store.clients import ClientHeartbeat, ClientRegistry
from app.services.store.errors import (
    ClientNotFoundError,
    DatabaseNewerError,
    DatabaseUrlError,
    IllegalTransitionError,
    LostRaceError,
    SchemaError,
    SchemaOutOfDateError,
    SchemaUpgradeNotPermittedError,
    StoreError,
    StoreUnavailableError,
    TaskNotFoundError,
    TemplateConflictError,
)
from app.services.store.facade import TaskStore, open_store
from app.services.store.feed import ChangeFeed, PollingChangeFeed, Subscription
from app.services.store.leader import LeaderElection, SoloLeaderElection
from app.services.store.pg_feed import PgChangeFeed
from app.services.store.probe import DatabaseProbe, probe_database
from app.services.store.repository import TaskRepository
from app.services.store.schema import (
    SchemaStatus,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    upgrade,
)
from app.services.store.templates import TemplateRepository

__all__ = [
    "ChangeFeed",
    "ClientHeartbeat",
    "ClientNotFoundError",
    "ClientRegistry",
    "DatabaseNewerError",
    "DatabaseProbe",
    "DatabaseUrlError",
    "IllegalTransitionError",
    "LeaderElection",
    "LostRaceError",
    "PgChangeFeed",
    "PollingChangeFeed",
    "SchemaChange",
    "SchemaError",
    "SchemaOutOfDateError",
    "SchemaStatus",
    "SchemaUpgradeNotPermittedError",
    "SoloLeaderElection",
    "StoreError",
    "StoreUnavailableError",
    "Subscription",
    "TaskNotFoundError",
    "TaskRepository",
    "TaskStore",
    "TemplateConflictError",
    "TemplateRepository",
    "current_revision",
    "downgrade",
    "ensure_schema",
    "head_revision",
    "open_store",
    "probe_database",
    "upgrade",
]

"""TaskStore: one object the pipeline and the UI hold, wiring engine, schema and repositories."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from app.services.settings import Settings
from app.services.store.clients import ClientHeartbeat, ClientRegistry
from app.services.store.diagnose import parse_database_url, unavailable
from app.services.store.engine import is_postgres, libpq_conninfo, make_engine
from app.services.store.feed import ChangeFeed, PollingChangeFeed
from app.services.store.leader import LeaderElection, SoloLeaderElection
from app.services.store.pg_feed import PgChangeFeed
from app.services.store.repository import TaskRepository
from app.services.store.schema import SchemaStatus, ensure_schema
from app.services.store.templates import TemplateRepository


class TaskStore:
    """The shared task store, PostgreSQL or embedded SQLite behind one API.

    Typical client start-up::

        store = open_store(settings)                       # schema checked/upgraded here
        me = store.clients.register()
        beat = store.heartbeat(me.id); beat.start()        # keeps this client's leases
        feed = store.change_feed(); feed.subscribe(on_change, on_status); feed.start()
        poller = store.leader_election("druid-poller", on_elected=..., on_deposed=...)
        poller.start()
        ...
        task = store.tasks.transition(task.id, TaskState.UPLOADING,
                                      expected_state=task.state, expected_version=task.version,
                                      by_client=me.id)   # IllegalTransitionError / LostRaceError

    Shut down in reverse: poller.stop(), feed.stop(), beat.stop(), store.close().
    """

    def __init__(self, engine: Engine, *, url: str) -> None:
        self.engine = engine
        self.url = url
        self.is_shared = is_postgres(url)
        self.tasks = TaskRepository(engine)
        self.clients = ClientRegistry(engine)
        self.templates = TemplateRepository(engine)
        self.schema_status: SchemaStatus | None = None

    @classmethod
    def open(cls, url: str, *, allow_upgrade: bool = True, pool_size: int = 5) -> TaskStore:
        """Connect and make sure the schema matches this app (upgrading when allowed).

        Raises DatabaseUrlError, StoreUnavailableError, DatabaseNewerError,
        SchemaOutOfDateError or SchemaUpgradeNotPermittedError with a message fit to show the
        user as is (and a `hint`).
        """
        url = parse_database_url(url).render_as_string(hide_password=False)
        try:
            engine = make_engine(url, pool_size=pool_size)
        except OSError as exc:  # the embedded file's folder cannot be made
            raise unavailable(url, exc) from exc
        try:
            status = ensure_schema(engine, allow_upgrade=allow_upgrade)
        except (DBAPIError, OSError) as exc:
            engine.dispose()
            raise unavailable(url, exc) from exc
        except BaseException:
            engine.dispose()
            raise
        store = cls(engine, url=url)
        store.schema_status = status
        return store

    def change_feed(self, *, poll_interval_s: float = 1.0) -> ChangeFeed:
        """A new, unstarted feed: LISTEN/NOTIFY on PostgreSQL, polling on SQLite."""
        if self.is_shared:
            reader = make_engine(self.url, pool_size=1, application_name="ingest-desk-feed")
            return PgChangeFeed(self.tasks, libpq_conninfo(self.url), reader=reader)
        return PollingChangeFeed(self.tasks, interval=poll_interval_s)

    def leader_election(
        self,
        role: str = "druid-poller",
        *,
        on_elected: Callable[[], None] | None = None,
        on_deposed: Callable[[], None] | None = None,
        retry_interval_s: float = 1.0,
    ) -> LeaderElection:
        if self.is_shared:
            return LeaderElection(
                libpq_conninfo(self.url),
                role,
                on_elected=on_elected,
                on_deposed=on_deposed,
                retry_interval_s=retry_interval_s,
            )
        return SoloLeaderElection(role, on_elected=on_elected, on_deposed=on_deposed)

    def heartbeat(self, client_id: str, *, interval_s: float = 5.0) -> ClientHeartbeat:
        return ClientHeartbeat(self.clients, client_id, interval_s=interval_s)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> TaskStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(settings: Settings, *, allow_upgrade: bool = True) -> TaskStore:
    """The store the settings describe: shared PostgreSQL, or the embedded SQLite file."""
    return TaskStore.open(settings.effective_database_url, allow_upgrade=allow_upgrade)

"""One running desk: the store, this client's registration and heartbeat, the live task feed."""

from __future__ import annotations

import enum
import getpass
import logging
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app.domain.store import ClientInfo, FeedStatus, TaskChange
from app.domain.tasks import Task
from app.pipeline.database import connect_url
from app.pipeline.local import LocalPipeline
from app.pipeline.runner import Runner
from app.pipeline.summary import upload_configured
from app.services.private_files import tighten_folder
from app.services.settings import Settings, data_dir
from app.services.store import ClientHeartbeat, ClientNotFoundError, Subscription, TaskStore
from app.services.store.feed import ChangeFeed

if TYPE_CHECKING:
    from app.pipeline.remote_connections import Connections

log = logging.getLogger(__name__)

_CLI_NAMESPACE = uuid.UUID("8d3f6a52-3c1e-4b8e-9a43-2f5a0f6c1d77")


class ClientRole(enum.StrEnum):
    """Who opens the session: a window (a new client each start, signed off on close) or the
    command line (one identity per user and host, so a rerun after a kill owns, and resumes,
    the tasks the killed run created; never signed off, so its tasks are not adopted early)."""

    DESK = "desk"
    COMMAND_LINE = "command_line"


def command_line_client(store: TaskStore) -> ClientInfo:
    user, host = getpass.getuser(), socket.gethostname()
    client_id = str(uuid.uuid5(_CLI_NAMESPACE, f"cli:{user}@{host}"))
    return store.clients.claim(client_id, user=user, host=host)


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    shared: bool
    label: str  # "Embedded SQLite" or "PostgreSQL"
    location: str  # file path or host/database, never a password
    # Set when this run works on the embedded store because the configured one (named here)
    # did not open: "this computer only, for now"; the saved settings still name that one.
    instead_of: str = ""


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    name: str
    configured: bool
    detail: str


@dataclass(frozen=True, slots=True)
class SessionInfo:
    client: ClientInfo
    database: DatabaseInfo
    s3: ConnectionInfo
    druid: ConnectionInfo


@dataclass(frozen=True, slots=True)
class TaskUpdate:
    """A task as the feed delivered it, with the source client's user name resolved."""

    task: Task
    owner: str


def describe_database(url: str) -> DatabaseInfo:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else url
        return DatabaseInfo(False, "Embedded SQLite", path)
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: named as written, so the message can point at it
        port = ":" + parts.netloc.rsplit(":", 1)[-1]
    return DatabaseInfo(True, "PostgreSQL", f"{host}{port}{parts.path}")


def describe_connections(settings: Settings) -> tuple[ConnectionInfo, ConnectionInfo]:
    if settings.s3_bucket:
        where = settings.s3_endpoint_url or "AWS"
        s3 = ConnectionInfo("S3", True, f"s3://{settings.s3_bucket}/{settings.s3_prefix} ({where})")
    else:
        s3 = ConnectionInfo("S3", False, "not configured: staging files cannot be uploaded yet")
    if settings.druid_url:
        druid = ConnectionInfo("Druid", True, settings.druid_url)
    else:
        druid = ConnectionInfo("Druid", False, "not configured: files are validated only")
    return s3, druid


class DeskSession:
    """What a window needs from the world: opened once, off the GUI thread, and closed once."""

    def __init__(
        self,
        store: TaskStore,
        client: ClientInfo,
        settings: Settings,
        *,
        connections: Connections | None = None,
        role: ClientRole = ClientRole.DESK,
        poll_interval_s: float = 0.5,
        heartbeat_interval_s: float = 5.0,
        work_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings
        self.role = role
        self.runner = Runner(store, client.id, settings, connections, work_dir=work_dir)
        self.pipeline = LocalPipeline(store, self.runner, settings)
        s3, druid = describe_connections(settings)
        self.info = SessionInfo(client, describe_database(store.url), s3, druid)
        self._feed: ChangeFeed = store.change_feed(poll_interval_s=poll_interval_s)
        self._heartbeat: ClientHeartbeat = store.heartbeat(
            client.id, interval_s=heartbeat_interval_s
        )
        self._owners: dict[str, str] = {client.id: client.user}
        self._owners_lock = threading.Lock()
        self._subscription: Subscription | None = None
        self._connections = connections
        self._closed = False

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        database_url: str | None = None,
        poll_interval_s: float = 0.5,
        role: ClientRole = ClientRole.DESK,
        connections: Connections | None = None,
        work_dir: Path | None = None,
    ) -> DeskSession:
        """Connect (creating or upgrading the schema), register this client, and with S3 and
        Druid configured open their clients: the window and the command line alike.

        `connections` replaces the clients the settings describe (tests inject faults there);
        the session closes them either way.
        """
        # The keyring's password is added here, so the window and every command connect alike.
        url = connect_url(settings, database_url)
        # The data folder holds the embedded database and the staged copies: this user's only.
        # Made 0700 by whatever creates it; one an older version left 0755 is closed here.
        tighten_folder(data_dir())
        store = TaskStore.open(url)  # makes the embedded file's folder when needed
        try:
            if role is ClientRole.COMMAND_LINE:
                client = command_line_client(store)
            else:
                client = store.clients.register()
            own_connections = connections is None and upload_configured(settings)
            if own_connections:
                # Lazily: these pull in boto3 and httpx, which an offline desk skips.
                from app.pipeline.remote_connections import Connections  # noqa: PLC0415

                connections = Connections.from_settings(settings)
        except BaseException:
            store.close()
            raise
        session = cls(
            store, client, settings, connections=connections, role=role,
            poll_interval_s=poll_interval_s, work_dir=work_dir,
        )
        session._heartbeat.start()
        if own_connections and connections is not None:
            # Uploads nobody will resume are aborted (injected clients are the caller's own).
            from app.pipeline.open_uploads import sweep_in_background  # noqa: PLC0415

            keep = timedelta(days=settings.keep_failed_uploads_days)
            sweep_in_background(store, connections.uploader, keep)
        return session

    @property
    def connections(self) -> Connections | None:
        """This desk's S3 and Druid clients; None unless both are configured."""
        return self._connections

    def owner_name(self, client_id: str) -> str:
        """The user behind a client id; looked up once (the feed thread calls this)."""
        with self._owners_lock:
            known = self._owners.get(client_id)
        if known is not None:
            return known
        try:
            name = self.store.clients.get(client_id).user
        except ClientNotFoundError:
            name = client_id[:8]
        with self._owners_lock:
            self._owners[client_id] = name
        return name

    def watch(
        self,
        on_update: Callable[[TaskUpdate], None],
        on_status: Callable[[FeedStatus], None] | None = None,
    ) -> None:
        """Start the live feed; callbacks run on the feed's thread (the UI hops them over)."""

        def deliver(change: TaskChange) -> None:
            task = change.task
            on_update(TaskUpdate(task, self.owner_name(task.source_client)))

        self._subscription = self._feed.subscribe(deliver, on_status)
        self._feed.start()

    def close(self) -> None:
        """Stop the feed and heartbeat and sign off, so other clients may adopt our tasks."""
        if self._closed:
            return
        self._closed = True
        if self._subscription is not None:
            self._subscription.cancel()
        self._feed.stop()
        # The command line never signs off: a clean exit must not make its unfinished tasks look
        # abandoned before the lease runs out; the next run resumes them under the same id.
        self._heartbeat.stop(sign_off=self.role is ClientRole.DESK)
        if self._connections is not None:
            self._connections.close()
        self.store.close()

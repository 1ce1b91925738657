"""Registered clients and their heartbeats: how the store knows who is still there."""

from __future__ import annotations

import getpass
import logging
import socket
import threading
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, RowMapping, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app import __version__
from app.domain.store import ClientInfo
from app.services.store.engine import cutoff_expr, now_expr
from app.services.store.errors import ClientNotFoundError
from app.services.store.models import CLIENTS
from app.services.store.units import run_unit, unit

log = logging.getLogger(__name__)


def _to_client(row: RowMapping) -> ClientInfo:
    return ClientInfo(
        id=row["id"],
        user=row["user"],
        host=row["host"],
        app_version=row["app_version"],
        started_at=row["started_at"],
        last_heartbeat=row["last_heartbeat"],
    )


class ClientRegistry:
    """Reads and registration are units of work (units.py); heartbeats and sign-off are not:
    the heartbeat thread retries on its next tick and a sign-off is best effort."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def register(
        self,
        *,
        user: str | None = None,
        host: str | None = None,
        app_version: str = __version__,
        client_id: str | None = None,
    ) -> ClientInfo:
        # The id is fixed before the first attempt: a repeat after an unacknowledged commit
        # finds its own row. A clash on the first attempt is someone else's (see claim).
        new_id = client_id or str(uuid.uuid4())
        values = {
            "id": new_id,
            "user": user or getpass.getuser(),
            "host": host or socket.gethostname(),
            "app_version": app_version,
            "started_at": now_expr(self._engine),
            "last_heartbeat": now_expr(self._engine),
        }

        def insert_once(retried: bool) -> ClientInfo:
            try:
                with self._engine.begin() as conn:
                    row = conn.execute(insert(CLIENTS).values(**values).returning(*CLIENTS.c))
                    return _to_client(row.mappings().one())
            except IntegrityError:
                if retried:
                    return self.get(new_id)
                raise

        return run_unit(self._engine, insert_once)

    def heartbeat(self, client_id: str) -> datetime:
        """Renew this client's lease on every task it owns (one row, however many tasks)."""
        with self._engine.begin() as conn:
            value = conn.execute(
                update(CLIENTS)
                .where(CLIENTS.c.id == client_id)
                .values(last_heartbeat=now_expr(self._engine))
                .returning(CLIENTS.c.last_heartbeat)
            ).scalar_one_or_none()
        if value is None:
            raise ClientNotFoundError(client_id)
        assert isinstance(value, datetime)
        return value

    def claim(self, client_id: str, *, user: str, host: str) -> ClientInfo:
        """A fixed identity (the command line's): beat if registered, else register it once,
        even when two runs race to do so."""
        try:
            self.heartbeat(client_id)
            return self.get(client_id)
        except ClientNotFoundError:
            pass
        try:
            return self.register(user=user, host=host, client_id=client_id)
        except IntegrityError:
            return self.get(client_id)  # a concurrent run registered it first

    def sign_off(self, client_id: str) -> None:
        """A clean exit: the client's adoptable tasks become adoptable at once."""
        with self._engine.begin() as conn:
            conn.execute(
                update(CLIENTS).where(CLIENTS.c.id == client_id).values(last_heartbeat=None)
            )

    @unit
    def get(self, client_id: str) -> ClientInfo:
        with self._engine.connect() as conn:
            row = conn.execute(select(CLIENTS).where(CLIENTS.c.id == client_id)).mappings()
            found = row.first()
        if found is None:
            raise ClientNotFoundError(client_id)
        return _to_client(found)

    @unit
    def list_clients(self, *, alive_within: timedelta | None = None) -> list[ClientInfo]:
        query = select(CLIENTS).order_by(CLIENTS.c.started_at)
        if alive_within is not None:
            cutoff = cutoff_expr(self._engine, alive_within)
            query = query.where(CLIENTS.c.last_heartbeat >= cutoff)
        with self._engine.connect() as conn:
            return [_to_client(row) for row in conn.execute(query).mappings()]


class ClientHeartbeat:
    """Heartbeats on a background thread; a failed beat is logged and retried on the next tick."""

    def __init__(
        self, registry: ClientRegistry, client_id: str, *, interval_s: float = 5.0
    ) -> None:
        self._registry = registry
        self.client_id = client_id
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_beat: datetime | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("heartbeat already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="client-heartbeat", daemon=True)
        self._thread.start()

    def stop(self, *, sign_off: bool = True, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if sign_off:
            try:
                self._registry.sign_off(self.client_id)
            except DBAPIError as exc:
                # The lease then simply lapses; adoption still works, only later.
                log.warning("could not sign off client %s: %s", self.client_id, exc)

    def _run(self) -> None:
        while True:
            try:
                self.last_beat = self._registry.heartbeat(self.client_id)
            except (DBAPIError, ClientNotFoundError) as exc:
                log.warning("heartbeat failed (%s); retrying in %.0f s", exc, self._interval_s)
            if self._stopping.wait(self._interval_s):
                return

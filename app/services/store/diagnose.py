"""Why a task database cannot be used, in plain words with a next step, and which faults pass."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from app.services.store.errors import DatabaseUrlError, StoreUnavailableError

URL_HINT = (
    "Use postgresql+psycopg://user@host:5432/database (the password goes in Settings, which "
    "keeps it in the OS keyring), or leave the URL empty to use the embedded store."
)
_CHECK_SERVER = "Check the host and port, and that PostgreSQL is running there."
_TRY_AGAIN = "Try again in a moment; the server is restarting or busy."
_PASSWORD_HINT = (
    "Check the user name and the password saved in Settings (kept in the OS keyring), "
    "or in INGEST_DESK_DATABASE_URL."
)
_SSL_MODES = "disable, allow, prefer, require, verify-ca or verify-full"

# SQLSTATEs PostgreSQL documents as "nothing was done, try again": serialization failure,
# deadlock, admin/crash shutdown, "cannot connect now" (starting up), too many connections,
# and the whole connection-exception class (08xxx).
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "53300"})


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    reason: str  # str.format()ed with the match's groups and `at` (host:port)
    hint: str
    transient: bool = False


def _rule(pattern: str, reason: str, hint: str, *, transient: bool = False) -> _Rule:
    return _Rule(re.compile(pattern, re.IGNORECASE), reason, hint, transient)


# libpq's and SQLite's own sentences, most specific first; the first match explains the fault.
_RULES = (
    _rule(r'password authentication failed for user "([^"]*)"',
          'the server refused the password for user "{0}"', _PASSWORD_HINT),
    _rule(r"no password supplied|fe_sendauth",
          "the server asks for a password and none is stored for this URL",
          "Save the database password in Settings (it is kept in the OS keyring), or put it "
          "in INGEST_DESK_DATABASE_URL."),
    _rule(r'database "([^"]*)" does not exist', 'the server has no database "{0}"',
          "Check the database name at the end of the URL, or ask the administrator to create it."),
    _rule(r'role "([^"]*)" does not exist', 'the server has no user "{0}"',
          "Check the user name in the URL."),
    _rule(r"no pg_hba\.conf entry",
          "the server does not accept this user from this computer (pg_hba.conf)",
          "Ask the database administrator to allow this host, user and database."),
    _rule(r'invalid sslmode value: "?([^"]*)"?', 'sslmode "{0}" is not one PostgreSQL knows',
          f"Use sslmode={_SSL_MODES}."),
    _rule(r"server does not support SSL", "the server does not offer SSL but the URL requires it",
          "Remove sslmode=require from the URL, or enable SSL on the server."),
    _rule(r'invalid (?:connection option|URI query parameter) "?([^"\s]*)"?',
          'the URL has an option PostgreSQL does not know ("{0}")',
          "Remove it from the part of the URL after '?'."),
    _rule(r"failed to resolve host '([^']*)'|could not translate host name \"([^\"]*)\"",
          "the host name '{0}' is not known", "Check the host name in the URL, and the network "
          "or VPN connection."),
    _rule(r"Connection refused",
          "the server refused the connection (nothing is listening on that port)", _CHECK_SERVER,
          transient=True),
    _rule(r"timeout expired|timed out", "the server did not answer in time", _CHECK_SERVER,
          transient=True),
    _rule(r"the database system is (starting up|shutting down|in recovery mode|not yet accepting)",
          "the server is {0}", _TRY_AGAIN, transient=True),
    _rule(r"too many clients|remaining connection slots",
          "the server has no free connections", _TRY_AGAIN, transient=True),
    _rule(r"server closed the connection|terminating connection|connection .*(lost|closed)|"
          r"consuming input failed|SSL SYSCALL|EOF detected|could not receive data",
          "the connection to the server was lost", _TRY_AGAIN, transient=True),
    _rule(r"could not serialize access|deadlock detected",
          "the change collided with another desk's", _TRY_AGAIN, transient=True),
    _rule(r"database is locked|database table is locked",
          "another program holds the embedded database file", _TRY_AGAIN, transient=True),
    _rule(r"unable to open database file|readonly database|disk I/O error",
          "the embedded database file cannot be opened or written",
          "Check the folder exists and this account may write to it."),
)


def _driver_text(exc: BaseException) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return str(orig or exc).strip()


def _first_line(text: str, fallback: str) -> str:
    # libpq prefixes its sentences ("connection failed: connection to server at ... failed:
    # FATAL:  ..."); the last part names the fault.
    line = text.splitlines()[0] if text else fallback
    line = line.rsplit(" failed: ", 1)[-1]
    return re.sub(r"^(FATAL|ERROR):\s*", "", line).strip() or fallback


def _at(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return url.database or "memory"
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def _rule_for(text: str) -> tuple[_Rule, list[str]] | None:
    for rule in _RULES:
        found = rule.pattern.search(text)
        if found:
            return rule, [g for g in found.groups() if g is not None]
    return None


def explain(url: str | URL, exc: BaseException) -> tuple[str, str]:
    """(reason, hint) for a driver or OS failure against `url`."""
    text = _driver_text(exc)
    parsed = make_url(url)
    matched = _rule_for(text)
    if matched is not None:
        rule, groups = matched
        return rule.reason.format(*groups, at=_at(parsed)), rule.hint
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc} ({exc.filename or _at(parsed)})", \
            "Check the folder exists and this account may write to it."
    return _first_line(text, type(exc).__name__), _CHECK_SERVER


def driver_reason(exc: BaseException) -> str:
    """The driver's own first line (not SQLAlchemy's wrapper text with its help link), or the
    OS's words for a file problem."""
    if isinstance(exc, OSError) and not isinstance(exc, DBAPIError) and exc.strerror:
        return exc.strerror
    text = _driver_text(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def unavailable(url: str | URL, exc: BaseException) -> StoreUnavailableError:
    """The StoreUnavailableError for `exc`, named by the URL without its password."""
    plain, hint = explain(url, exc)
    where = make_url(url)._replace(password=None).render_as_string(hide_password=False)
    return StoreUnavailableError(where, driver_reason(exc), hint, plain=plain)


def is_transient(exc: BaseException) -> bool:
    """Worth repeating the whole unit of work: the server restarted, the connection dropped,
    or PostgreSQL asked for a retry (serialization failure, deadlock). Constraint violations,
    bad SQL, refused logins and missing databases are not: repeating cannot change them."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, psycopg.Error):
        state = orig.sqlstate or ""
        if state:
            return state in _TRANSIENT_SQLSTATES or state.startswith("08")
        if not isinstance(orig, psycopg.OperationalError):
            return False
    elif not isinstance(orig, sqlite3.OperationalError):
        return False
    # A connection that failed to open (no SQLSTATE): libpq's sentence says whether the server
    # is merely away (refused, restarting) or the setup is wrong (password, database name).
    matched = _rule_for(_driver_text(exc))
    return matched is not None and matched[0].transient


def _masked(text: str) -> str:
    return re.sub(r"(://[^:/@\s]*):[^@/\s]*@", r"\1:***@", text)


def parse_database_url(url: str | URL) -> URL:
    """The URL SQLAlchemy should connect with, or DatabaseUrlError saying what is wrong with it.

    `postgres://` (Heroku's spelling) and `postgresql://` both mean psycopg 3, the one driver
    this app ships."""
    try:
        parsed = make_url(url)
        _ = parsed.port  # make_url reads the port lazily on some versions
    except ArgumentError as exc:
        raise DatabaseUrlError(f"{_masked(str(url))!r} is not a database URL", URL_HINT) from exc
    except ValueError as exc:
        found = re.search(r":([^:/@]*)/", str(url).rsplit("@", 1)[-1])
        value = found.group(1) if found else str(exc)
        raise DatabaseUrlError(f"the port {value!r} is not a number", URL_HINT) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    if backend in ("postgres", "postgresql"):
        raise DatabaseUrlError(
            f"the driver {driver!r} is not available; this app connects with psycopg", URL_HINT
        )
    raise DatabaseUrlError(
        f"{parsed.drivername}:// is not supported; the task database is PostgreSQL (or the "
        "embedded SQLite file)", URL_HINT,
    )

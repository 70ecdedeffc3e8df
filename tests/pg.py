"""A real PostgreSQL for the tests: a throwaway cluster per test session (per xdist worker), or a server
you name.

Use it from a test file by naming this module as a plugin (an ``import`` of the fixtures works too, but
ruff then reports the test's argument as a redefinition, F811)::

    pytest_plugins = ["tests.pg"]

    def test_something(postgres_database): ...

- ``postgres_url`` (session): the URL of a server whose user may create databases.
- ``postgres_database`` (function): the URL of a new, empty database, dropped after the test.

Environment:

- ``CRM_TEST_PG_URL``: use that server (``postgresql+psycopg://user:pass@host:5432/postgres``) instead of
  starting one; its user needs CREATEDB.
- ``CRM_REQUIRE_POSTGRES=1`` (CI): a PostgreSQL that cannot be started fails the tests instead of
  skipping them.

The cluster: ``initdb`` and ``pg_ctl`` from PATH or ``/usr/lib/postgresql/<newest>/bin``, a data folder
in a new temporary directory, listening on 127.0.0.1 only on a free port (its socket in that directory),
trust authentication for the user ``crm_test``, fsync off. As root it runs as the ``postgres`` user
(PostgreSQL refuses root), with the directory handed to that user. It is stopped and removed at the end
of the session.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

USER = "crm_test"
DRIVER = "postgresql+psycopg"
START_SECONDS = 60


class PostgresUnavailable(Exception):
    """PostgreSQL could not be found or started here; the message says why."""


def server_binaries() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl``: PATH first, then Debian's newest major version."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda path: int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit()
                        else 0)
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One throwaway PostgreSQL cluster: :meth:`start`, :attr:`url`, :meth:`stop` (which removes it)."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix=f"crm-pg-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-"))
        self.data = self.root / "data"
        self.port = 0
        self.running = False
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"{DRIVER}://{USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run a server binary, as the ``postgres`` user when we are root."""
        argv = [str(self.binaries / command[0]), *command[1:]]
        if self._as_postgres:
            if shutil.which("runuser"):
                argv = ["runuser", "-u", "postgres", "--", *argv]
            else:
                argv = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(shlex.quote(part) for part in argv)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=START_SECONDS, cwd=self.root,
                              env={**os.environ, "LC_ALL": "C", "LANG": "C"})

    def start(self, attempts: int = 3) -> Cluster:
        if self._as_postgres:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no postgres user to run the server") from None
            os.chown(self.root, account.pw_uid, account.pw_gid)
        done = self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8",
                         "--no-locale", "--no-sync")
        if done.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {(done.stderr or done.stdout).strip()[-800:]}")
        failure = ""
        for _ in range(attempts):  # a free port may be taken by another worker between probe and start
            self.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
                             "-t", str(START_SECONDS), "-o", options, "start")
            if done.returncode == 0:
                self.running = True
                return self
            failure = (done.stderr or done.stdout).strip() + "\n" + self.log()
        raise PostgresUnavailable(f"pg_ctl start failed: {failure.strip()[-1500:]}")

    def log(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL unavailable: {reason}"
    if os.environ.get("CRM_REQUIRE_POSTGRES") == "1":
        pytest.fail(message + " (CRM_REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(message)


def _execute(url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE must), on a connection of its own."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _check(url: str) -> None:
    """Connect once, so an unreachable server says so before any test runs."""
    _execute(url, "SELECT 1")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL server for this session (see the module docstring)."""
    configured = os.environ.get("CRM_TEST_PG_URL", "").strip()
    if configured:
        try:
            _check(configured)
        except Exception as error:  # any failure: the named server is not usable
            _unavailable(f"CRM_TEST_PG_URL cannot be reached: {type(error).__name__}")
        yield configured
        return
    binaries = server_binaries()
    if binaries is None:
        _unavailable("no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)")
        return
    cluster = Cluster(binaries)
    atexit.register(cluster.stop)  # also when the session ends without running fixture teardown
    try:
        cluster.start()
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as error:
        cluster.stop()
        _unavailable(str(error))
    try:
        _check(cluster.url)
    except Exception as error:
        cluster.stop()
        _unavailable(f"started but not reachable: {error}")
    yield cluster.url
    cluster.stop()


def create_database(server_url: str) -> str:
    """A new empty database on the server (random name); returns its URL."""
    name = f"crm_test_{secrets.token_hex(6)}"
    _execute(server_url, f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    """Drop a database made by :func:`create_database` on that server, closing its connections."""
    _execute(server_url, f"DROP DATABASE IF EXISTS \"{sa.make_url(database_url).database}\" WITH (FORCE)")


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty database for one test; dropped afterwards."""
    url = create_database(postgres_url)
    yield url
    drop_database(postgres_url, url)

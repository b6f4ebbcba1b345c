"""A PgBouncer of the test session's own in transaction pooling mode, in front of the test PostgreSQL."""
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

# Debian installs it in /usr/sbin, which a non-root user's PATH may lack.
EXECUTABLE = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
INSTALL_HINT = "pgbouncer is not installed: apt-get install -y pgbouncer (.ci/run and `make test` install it)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgBouncer:
    """`pgbouncer` in the foreground with `pool_mode = transaction` and a pool of `pool_size` server connections
    per database, so that the clients of a test really share server connections (as many gunicorn hosts and
    workers do in production).

    `server_round_robin = 1` hands the server connections out in turn instead of PgBouncer's default LIFO (the
    most recently used first), so that even one client's consecutive transactions land on different server
    connections: whatever a client leaves on a server connection (a prepared statement, a session lock) is
    met by another transaction at once instead of now and then."""

    def __init__(self, folder: Path, databases: dict[str, str], pool_size: int = 2, pool_sizes: dict | None = None):
        """`databases`: the name a client connects to -> the PostgreSQL URL it stands for; `pool_sizes`: the
        server connections of a database other than `pool_size`."""
        self.folder, self.port = folder, free_port()
        self.targets = {name: make_url(url) for name, url in databases.items()}
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["[databases]"]
        for name, target in self.targets.items():
            lines.append(f"{name} = host={target.host or '127.0.0.1'} port={target.port or 5432} "
                         f"dbname={target.database} user={target.username or 'postgres'}"
                         + (f" password={target.password}" if target.password else "")
                         + (f" pool_size={pool_sizes[name]}" if name in (pool_sizes or {}) else ""))
        lines += ["", "[pgbouncer]", "listen_addr = 127.0.0.1", f"listen_port = {self.port}",
                  "unix_socket_dir =",  # no socket in /tmp that another PgBouncer of the machine could meet
                  # Every database line names its server user, so a client's user name is not checked.
                  "auth_type = any", "pool_mode = transaction", f"default_pool_size = {pool_size}",
                  "max_client_conn = 200", "server_round_robin = 1",
                  # A client waits this long for a free server connection before PgBouncer refuses it.
                  "query_wait_timeout = 30"]
        self.config = folder / "pgbouncer.ini"
        self.config.write_text("\n".join(lines) + "\n")
        self.log_path = folder / "pgbouncer.log"
        self.log = open(self.log_path, "wb")
        args = [EXECUTABLE, str(self.config)]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            args[1:1] = ["-u", _unprivileged_user()]
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        if not self._wait_until_listening(15):
            self.stop()
            raise AssertionError(f"pgbouncer did not start:\n{self.output()}")

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of database `name` through PgBouncer."""
        target = self.targets[name]
        return target.set(host="127.0.0.1", port=self.port, database=name).render_as_string(hide_password=False)

    def open_server_connections(self, name: str, count: int) -> None:
        """Make PgBouncer open `count` server connections to database `name` (as many clients at once in a
        transaction), all idle afterwards, so that the next transactions of a lone client take them in turn."""
        import psycopg

        target = self.targets[name]
        clients = [psycopg.connect(host="127.0.0.1", port=self.port, dbname=name, user=target.username or "postgres")
                   for _ in range(count)]
        try:
            for client in clients:
                client.execute("SELECT 1")  # each holds a server connection until its transaction ends
            for client in clients:
                client.commit()  # a client that leaves inside a transaction costs PgBouncer its server connection
        finally:
            for client in clients:
                client.close()

    @contextmanager
    def neighbour(self, name: str, pause: float = 0.003):
        """Another client of database `name` meanwhile (another host's process), one short transaction every
        `pause` seconds, so that which server connection a test's next transaction gets is anybody's guess."""
        import psycopg

        target, stopping = self.targets[name], threading.Event()
        client = psycopg.connect(host="127.0.0.1", port=self.port, dbname=name, user=target.username or "postgres",
                                 autocommit=True, prepare_threshold=None)

        def work():
            while not stopping.wait(pause):
                client.execute("SELECT 1")

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stopping.set()
            thread.join(timeout=5)
            client.close()

    def _wait_until_listening(self, limit: float) -> bool:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user (postgres, nobody) to run pgbouncer as")

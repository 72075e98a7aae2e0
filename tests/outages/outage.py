"""A database that stops answering and comes back, without touching the shared server.

- PostgreSQL: ditbot reaches the test database through a TCP proxy on 127.0.0.1 (port 0).
  `cut()` closes the proxy's listening socket (new connections are refused) and every live
  connection (the pooled ones die under the app's feet); `restore()` listens again on the
  same port. This is what a restarted or unreachable server looks like to the driver.
- SQLite: the database file lives in a folder of its own. `cut()` renames the folder away and
  drops the pooled connections of the watched `Database`s (an open SQLite connection would
  keep working on its file descriptor), so every new connection fails with the driver's own
  "unable to open database file"; `restore()` puts the folder back.

Either way the app sees a real driver error, raised from its real connection pool.
"""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import Database


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `upstream`; can refuse and drop connections on demand."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Refuse new connections and reset the live ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            live, self._sockets = self._sockets, set()
        if listener is not None:
            _close(listener)  # shutdown first: a close alone leaves accept() listening
        for sock in live:
            _close(sock)

    def stop(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:  # closed by cut()
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(server)
                    continue
                self._sockets.update((client, server))
                self.accepted += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(target)
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class Outage:
    """See the module docstring. `url` is the database URL to give ditbot."""

    def __init__(self, url: str, *, proxy: TcpProxy | None = None, folder: Path | None = None):
        self.url = url
        self.proxy = proxy
        self.folder = folder
        self.down = False
        self._watched: list[Database] = []

    @classmethod
    def around(cls, db_url: str, tmp_path: Path) -> Outage:
        """Put `db_url` (an empty migrated test database) behind a switch."""
        url = make_url(db_url)
        if url.get_backend_name() == "sqlite":
            assert url.database, db_url
            folder = tmp_path / "database"
            folder.mkdir()
            target = folder / "ditbot.db"
            shutil.move(url.database, target)
            return cls(f"sqlite:///{target}", folder=folder)
        proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start()
        proxied = url.set(host="127.0.0.1", port=proxy.port)
        return cls(proxied.render_as_string(hide_password=False), proxy=proxy)

    def watch(self, database: Database) -> Database:
        """A `Database` on `url` whose pooled connections must die at `cut()` (SQLite)."""
        self._watched.append(database)
        return database

    def cut(self) -> None:
        assert not self.down, "already cut"
        self.down = True
        if self.proxy is not None:
            self.proxy.cut()
        if self.folder is not None:
            self.folder.rename(self._away())
            for database in self._watched:
                database.engine.dispose()

    def restore(self) -> None:
        assert self.down, "not cut"
        self.down = False
        if self.proxy is not None:
            self.proxy.start()
        if self.folder is not None:
            self._away().rename(self.folder)

    def close(self) -> None:
        if self.down:
            self.restore()
        if self.proxy is not None:
            self.proxy.stop()

    def _away(self) -> Path:
        assert self.folder is not None
        return self.folder.with_name(self.folder.name + ".away")

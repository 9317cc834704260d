"""A TCP proxy on 127.0.0.1 in front of a server (the drills put it between a leader and
PostgreSQL), which can lose the network on demand.

* :meth:`Proxy.black_hole`: what a pulled cable looks like to both ends' programs: nothing more
  is forwarded either way and nobody answers, yet no socket is closed (no FIN, no RST). New
  connections are accepted (the kernel does that) and never answered. This is stricter than a
  real cable: the proxy's own kernel still acknowledges what each end sends and answers its TCP
  keepalives, so neither end's TCP can notice; only the application (a query unanswered, the
  server's ``idle_session_timeout``) can. A proxy or NAT that hangs is the same in real life.
* :meth:`Proxy.reset`: every connection closed with a RST (a crashed middlebox; each end learns
  at its next read or write), and new ones refused.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from urllib.parse import urlsplit, urlunsplit


class Proxy:
    """``with Proxy(host, port) as proxy:`` listens on ``proxy.port`` and forwards to host:port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.dark = threading.Event()  # black hole: nothing forwarded, nothing closed
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.connections = 0

    @classmethod
    def to(cls, url: str) -> Proxy:
        """A proxy in front of the server a postgresql:// URL names."""
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432)

    def url(self, url: str) -> str:
        """The same URL, through this proxy."""
        parts = urlsplit(url)
        user = parts.netloc.rpartition("@")[0]
        return urlunsplit(parts._replace(netloc=f"{user + '@' if user else ''}127.0.0.1:{self.port}"))

    def __enter__(self) -> Proxy:
        threading.Thread(target=self._accept, name="proxy accept", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._close_all(rst=False)

    def black_hole(self) -> None:
        self.dark.set()

    def reset(self) -> None:
        """Every connection ends with a RST; the listener goes too (connections are refused)."""
        self._stop.set()
        with contextlib.suppress(OSError):  # close() alone leaves it listening while accept() waits
            self._listener.shutdown(socket.SHUT_RDWR)
        self._close_all(rst=True)

    def _close_all(self, rst: bool) -> None:
        with self._lock:
            sockets, self._sockets = [self._listener, *self._sockets], []
        for s in sockets:
            with contextlib.suppress(OSError):  # closed already (its other end had closed)
                if rst:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self._sockets.append(client)
            if self.dark.is_set():
                continue  # accepted by the kernel, never answered
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.append(server)
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server), name="proxy pump", daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        """Both directions of one connection, until either end closes or the proxy stops."""
        peer = {a: b, b: a}
        while not self._stop.is_set():
            if self.dark.is_set():
                self._stop.wait(0.5)  # holds both sockets open, reads nothing, sends nothing
                continue
            try:
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for s in ready:
                    if self.dark.is_set():
                        break
                    data = s.recv(65536)
                    if not data:
                        raise OSError("closed")
                    peer[s].sendall(data)
            except (OSError, ValueError):  # one end closed (or the proxy reset them)
                for s in (a, b):
                    s.close()
                return

"""A loopback TCP proxy in front of a real server that resets connections mid-stream.

Clients connect to ``127.0.0.1:proxy.port``; each connection is relayed to the
upstream (a TCP address or a unix socket, such as the embedded PostgreSQL's). Armed
with ``reset_after(n)``, the proxy forwards ``n`` more bytes in one direction
(client to server by default), then cuts the connection carrying the next byte
with a TCP RST on the client's side and a close on the server's: the server sees
half a request (or the client half a reply) and the client a "connection reset
by peer" - what a flaky load balancer or a NAT timeout does to a bulk load.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from dataclasses import dataclass


@dataclass
class _Arming:
    budget: int  # bytes still let through before the next reset
    every: int  # the budget given again after a reset
    times: int  # resets still to do
    to_server: bool  # which direction's bytes are counted


class ResettingProxy:
    def __init__(self, upstream: tuple[str, int] | str):
        self.upstream = upstream
        self.resets = 0
        self.connections = 0
        self._arming: _Arming | None = None
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def reset_after(self, nbytes: int, *, times: int = 1, every: int | None = None, to_server: bool = True) -> None:
        """Reset after ``nbytes`` more bytes (client to server, or server to client);
        with ``times`` > 1, again after each ``every`` bytes (default ``nbytes``)."""
        with self._lock:
            self._arming = _Arming(nbytes, every or nbytes, times, to_server)

    def heal(self) -> None:
        with self._lock:
            self._arming = None

    def close(self) -> None:
        self._listener.close()
        for sock in list(self._sockets):
            sock.close()

    def __enter__(self) -> "ResettingProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- relaying --------------------------------------------------------------------
    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.upstream)
            return sock
        return socket.create_connection(self.upstream)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            server = self._connect_upstream()
            self._sockets |= {client, server}
            self.connections += 1
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _allowed(self, size: int, to_server: bool) -> int | None:
        """How many of ``size`` bytes to forward before resetting; None: all, no reset."""
        with self._lock:
            arming = self._arming
            if arming is None or arming.to_server != to_server or size <= arming.budget:
                if arming is not None and arming.to_server == to_server:
                    arming.budget -= size
                return None
            allowed = arming.budget
            arming.times -= 1
            arming.budget = arming.every
            if arming.times <= 0:
                self._arming = None
            self.resets += 1
            return allowed

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        """Both directions in one thread: a socket closed while another thread blocks in
        recv() on it is not really closed, and would send no RST."""
        peer = {client: server, server: client}
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [])
                for source in readable:
                    chunk = source.recv(65536)
                    if not chunk:
                        raise ConnectionAbortedError
                    allowed = self._allowed(len(chunk), to_server=source is client)
                    if allowed is not None:
                        peer[source].sendall(chunk[:allowed])
                        self._reset(client=client, server=server)
                        return
                    peer[source].sendall(chunk)
        except OSError:
            client.close()
            server.close()

    @staticmethod
    def _reset(*, client: socket.socket, server: socket.socket) -> None:
        """RST to the client (SO_LINGER 0 discards and resets), plain close to the server."""
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        server.close()

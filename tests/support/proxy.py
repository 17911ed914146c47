"""A TCP proxy in front of the real PostgreSQL or RabbitMQ, which a test can cut and restore:
the service loses its store or broker while the shared servers go on for everyone else."""
from __future__ import annotations

import socket
from typing import Any

import eventlet

from tests.support.services import free_port


class Proxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: Any = None
        self._sockets: set[Any] = set()
        self._threads: set[Any] = set()

    def start(self) -> "Proxy":
        self._listener = eventlet.listen(("127.0.0.1", self.port))
        self._threads.add(eventlet.spawn(self._accept, self._listener))
        return self

    def cut(self) -> None:
        """Nothing listens on the port any more, and every open connection is closed."""
        for thread in self._threads:
            thread.kill()
        self._threads.clear()
        for sock in [self._listener, *self._sockets]:
            _close(sock)
        self._sockets.clear()

    restore = start
    stop = cut

    def _accept(self, listener: Any) -> None:
        while True:
            client, _ = listener.accept()
            try:
                server = eventlet.connect(self.target)
            except OSError:
                _close(client)
                continue
            self._sockets.update((client, server))
            self._threads.add(eventlet.spawn(self._pipe, client, server))
            self._threads.add(eventlet.spawn(self._pipe, server, client))

    def _pipe(self, source: Any, destination: Any) -> None:
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(destination)


def _close(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

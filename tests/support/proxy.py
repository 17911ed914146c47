"""A TCP proxy in front of the real PostgreSQL or RabbitMQ, which a test can cut and restore:
the service loses its store or broker while the shared servers go on for everyone else.

The proxy is a process of its own (plain threads, no eventlet): cutting it is SIGKILL, which closes
every connection through it at once, and nothing of it lives in the test process's hub, where
sockets closed under waiting green threads would disturb the tests that follow.

    python -m tests.support.proxy LISTEN_PORT TARGET_HOST TARGET_PORT
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Proxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Proxy":
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.proxy", str(self.port), self.target[0], str(self.target[1])],
            cwd=REPO_ROOT,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError(f"the proxy on port {self.port} did not start") from None
                time.sleep(0.05)

    def cut(self) -> None:
        """Nothing listens on the port any more, and every open connection is closed."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    restore = start
    stop = cut


def _serve(listen_port: int, target: tuple[str, int]) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(64)
    while True:
        client, _ = listener.accept()
        try:
            server = socket.create_connection(target)
        except OSError:
            client.close()
            continue
        for source, destination in ((client, server), (server, client)):
            threading.Thread(target=_pipe, args=(source, destination), daemon=True).start()


def _pipe(source: socket.socket, destination: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            destination.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, destination):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


if __name__ == "__main__":
    _serve(int(sys.argv[1]), (sys.argv[2], int(sys.argv[3])))

"""A listener that comes up late and forwards to a real server: a dependency that is
restarting (connections refused), then answers, produced for real on loopback or a unix socket."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Address", "late_listener"]

Address = tuple[str, int] | str


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def _serve(listener: socket.socket, connect: tuple[int, Address], stop: threading.Event) -> None:
    family, address = connect
    links: list[socket.socket] = []
    threads: list[threading.Thread] = []
    listener.settimeout(0.1)
    while not stop.is_set():
        try:
            client, _ = listener.accept()
        except TimeoutError:
            continue
        upstream = socket.socket(family, socket.SOCK_STREAM)
        upstream.connect(address)
        links += [client, upstream]
        for a, b in ((client, upstream), (upstream, client)):
            thread = threading.Thread(target=_pipe, args=(a, b), daemon=True)
            thread.start()
            threads.append(thread)
    for link in links:
        with contextlib.suppress(OSError):
            link.shutdown(socket.SHUT_RDWR)
    for thread in threads:
        thread.join(timeout=2)
    for link in links:
        link.close()


@contextmanager
def late_listener(
    bind: tuple[int, Address], upstream: tuple[int, Address], after: float
) -> Iterator[threading.Event]:
    """Bind ``bind`` (family, address) now but refuse connections for ``after`` seconds, then
    forward each to ``upstream``. Yields the event set once it listens."""
    family, address = bind
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind(address)  # bound, not listening: a connect is refused, as while restarting
    listening = threading.Event()
    stop = threading.Event()

    def run() -> None:
        if stop.wait(after):
            return
        listener.listen(16)
        listening.set()
        _serve(listener, upstream, stop)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listening
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()

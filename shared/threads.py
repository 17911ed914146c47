"""Logging that the hub's green threads and the store's OS thread can share.

eventlet's monkey-patching makes every `threading` lock green, logging's included (each handler's
lock and the module's own). A green lock is only a lock among the green threads of one OS thread.
The services also run code on an OS thread of eventlet's pool (shared.store: SQLite; shared.pdf:
rendering, where fontTools logs), and that code logs too. When it finds a handler's lock taken by a
green thread on the hub, it waits in a hub of its own thread, and the release wakes it from the
main hub: `greenlet.error: Cannot switch to a different thread`, and the pool's thread waits for
ever, and every later store call with it. (tests/unit/test_threads.py shows it in a few
milliseconds without this module.)

Here logging's locks are real OS locks again (oslo.log does much the same for OpenStack's eventlet
services with its PipeMutex). A real lock belongs to the OS thread, so it does not keep two green
threads of the hub apart; it need not: our handlers write a line without ever yielding to the hub.
Records no longer carry the thread's name (`logging.logThreads`): asking for it on the pool
thread went through `threading.enumerate()` and its green lock on every line, and no log line
of ours shows it.
"""
from __future__ import annotations

import logging
import sys
from typing import Any


def real_rlock() -> Any:
    from eventlet import patcher

    return patcher.original("threading").RLock()


def _create_real_lock(handler: logging.Handler) -> None:
    handler.lock = real_rlock()  # type: ignore[assignment]
    handler._real_lock = True  # type: ignore[attr-defined]
    logging._register_at_fork_reinit_lock(handler)  # type: ignore[attr-defined]


_real_module_lock: Any = None


def _held(lock: Any) -> bool:
    """Whether a green RLock is held by any green thread (it is then left for a later call)."""
    return getattr(lock, "_count", 0) > 0


def _handlers_made_so_far() -> list[logging.Handler]:
    """Those logging keeps a reference to, and those on a logger (logging.config forgets the former)."""
    handlers = [reference() for reference in list(logging._handlerList)]  # type: ignore[attr-defined]
    loggers = [logging.getLogger(), *(logger for logger in list(logging.Logger.manager.loggerDict.values())
                                     if isinstance(logger, logging.Logger))]
    handlers += [handler for logger in loggers for handler in list(logger.handlers)]
    return list({id(handler): handler for handler in handlers if handler is not None}.values())


def thread_safe_logging() -> None:
    """Gives logging's module lock, every handler made so far and every handler made from now on a
    real OS lock, and stops records asking for the thread's name. Called before the pool thread is
    given work (shared.store's gate, shared.pdf), on the hub; only where eventlet has patched
    threading; idempotent. A lock held at that moment (logging.config holding the module lock) is
    swapped by a later call."""
    global _real_module_lock
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is None or not patcher.is_monkey_patched("thread"):
        return
    logging.logThreads = False
    logging.Handler.createLock = _create_real_lock  # type: ignore[method-assign]
    for handler in _handlers_made_so_far():
        if not getattr(handler, "_real_lock", False) and not _held(handler.lock):
            handler.lock = real_rlock()  # type: ignore[assignment]
            handler._real_lock = True  # type: ignore[attr-defined]
    if logging._lock is not _real_module_lock and not _held(logging._lock):  # type: ignore[attr-defined]
        _real_module_lock = logging._lock = real_rlock()  # type: ignore[attr-defined]

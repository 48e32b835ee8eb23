"""Whether this process may start worker processes (the cold parse's pool, the mining of many runbooks), and
work over items in forked processes.

The CLI allows it: its entry points are safe to spawn from. Library callers are not, by default: their
script may lack an `if __name__ == "__main__"` guard, a spawned worker re-runs such a script from the top,
and Python refuses to start a pool from inside it. Kept apart from the parsers so that the CLI can say so
without importing them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from runbook_synth.errors import RunbookSynthError

_ALLOWED = {"pools": False}


def allow_process_pools(allowed: bool = True) -> None:
    _ALLOWED["pools"] = allowed


def process_pools_allowed() -> bool:
    """Allowed, and not inside a worker (a worker never starts a pool of its own)."""
    import multiprocessing  # here, not at the top: every command imports this module, few start a pool

    return _ALLOWED["pools"] and multiprocessing.parent_process() is None


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# --- work over items in forked processes ----------------------------------------------------------------------------

_T = TypeVar("_T")
_R = TypeVar("_R")
_Said = tuple[str, int, str]
_job: list[Callable[[Any], Any]] = []
_said_here: list[_Said] = []


def fork_available() -> bool:
    """Pools are allowed and this platform forks (Linux); macOS and Windows take the serial path."""
    import multiprocessing

    return process_pools_allowed() and "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux"


def forked_map(
    function: Callable[[_T], _R],
    items: Sequence[_T],
    workers: int,
    done: Callable[[int, int], None] | None = None,
) -> list[_R]:
    """`function` over `items` in `workers` forked processes, the results in item order.

    Forked, so that what `function` reads (an ingested corpus of 50,000 files) is inherited instead of pickled:
    only the items and the results cross. The children never touch what the parent holds open (a database
    connection, a progress bar's thread); they compute and return. Items are given out one at a time, the
    costliest first when the caller sorts them so. What the children log (runbook_synth's loggers, warnings
    and up) is said here after all are done, item by item in item order, so the output does not depend on
    which child was faster; the first item whose function raised re-raises its exception here.
    `done(finished, index)` is called as each result arrives: how many are in, and which item it was.
    """
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    import multiprocessing.pool

    context = multiprocessing.get_context("fork")
    _job[:] = [function]
    answers: dict[int, tuple[bool, Any, list[_Said]]] = {}
    try:
        with context.Pool(min(workers, len(items)), initializer=_start_forked) as pool:
            for index, ok, value, said in pool.imap_unordered(_run_forked, enumerate(items), chunksize=1):
                answers[index] = (ok, value, said)
                if done is not None:
                    done(len(answers), index)
    finally:
        _job.clear()
    for index in range(len(items)):
        for name, level, message in answers[index][2]:
            logging.getLogger(name).log(level, "%s", message)
    for index in range(len(items)):
        ok, value, _ = answers[index]
        if not ok:
            raise value
    return [answers[index][1] for index in range(len(items))]


def exit_with_parent() -> None:
    """In a pool worker: end the moment the process that started the pool ends, however it ends.

    A pool's workers wait on a queue whose write end they hold themselves, so a parent killed with SIGKILL
    (a CI timeout, the OOM killer) left them waiting for ever, each holding its share of the corpus. The
    parent's sentinel (a pipe multiprocessing gives every child) becomes readable when the parent dies."""
    import multiprocessing
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if sentinel is None:
        return

    def watch() -> None:
        wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _start_forked() -> None:
    """In a forked child: keep what runbook_synth logs, for the parent to say (it owns stderr); end with the
    parent."""
    exit_with_parent()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            _said_here.append((record.name, record.levelno, record.getMessage()))

    top = logging.getLogger("runbook_synth")
    top.handlers[:] = [Keep(logging.WARNING)]
    top.propagate = False


def _run_forked(job: tuple[int, Any]) -> tuple[int, bool, Any, list[_Said]]:
    index, item = job
    _said_here.clear()
    try:
        ok, value = True, _job[0](item)
    except RunbookSynthError as error:  # one line for the user; its own class may not survive pickling
        ok, value = False, RunbookSynthError(str(error))
    return index, ok, value, list(_said_here)

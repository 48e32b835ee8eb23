"""Whether this process may start worker processes (the cold parse's pool).

The CLI allows it: its entry points are safe to spawn from. Library callers are not, by default: their
script may lack an `if __name__ == "__main__"` guard, a spawned worker re-runs such a script from the top,
and Python refuses to start a pool from inside it. Kept apart from the parsers so that the CLI can say so
without importing them.
"""

from __future__ import annotations

import multiprocessing

_ALLOWED = {"pools": False}


def allow_process_pools(allowed: bool = True) -> None:
    _ALLOWED["pools"] = allowed


def process_pools_allowed() -> bool:
    """Allowed, and not inside a worker (a worker never starts a pool of its own)."""
    return _ALLOWED["pools"] and multiprocessing.parent_process() is None

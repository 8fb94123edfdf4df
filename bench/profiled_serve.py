# SPDX-License-Identifier: Apache-2.0
"""``sceau serve`` under cProfile, every thread included; the profile is written at exit.

Used by ``bench/validations.py --profile FILE``: the event loop's thread and each worker thread
(where the synchronous endpoints and the database work run) get their own profiler, and the
profiles are merged into ``FILE`` (a ``pstats`` file) when the server stops::

    .venv/bin/python -m pstats FILE      # then: sort tottime / stats 40

Times are each thread's CPU time (``time.thread_time``), not wall time: waiting for a lock,
the disk or the network costs nothing here. Profiling slows the server (every Python call is
counted): use it to see where the CPU goes, not to measure how much. ``SIGUSR1`` empties the
profiles, so that the benchmark's measured part alone is kept.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import pstats
import signal
import sys
import threading
import time

_PROFILES: list[cProfile.Profile] = []
_LOCK = threading.Lock()


def _start_thread_profile(*_: object) -> None:
    profile = cProfile.Profile(time.thread_time)
    with _LOCK:
        _PROFILES.append(profile)
    profile.enable()  # replaces this hook for the rest of the thread


def _restart(*_: object) -> None:
    """SIGUSR1: forget what was profiled so far (start-up, provisioning, warm-up)."""
    with _LOCK:
        profiles = list(_PROFILES)
    for profile in profiles:
        profile.clear()


def _dump(path: str) -> None:
    with _LOCK:
        profiles = list(_PROFILES)
    for profile in profiles:
        profile.disable()
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        try:
            stats.add(profile)
        except TypeError:  # a thread that never ran any Python code
            continue
    stats.dump_stats(path)


def main() -> int:
    path = os.environ["SCEAU_PROFILE_OUT"]
    from sceau_server.cli import main as sceau

    threading.setprofile(_start_thread_profile)
    _start_thread_profile()
    atexit.register(_dump, path)
    # uvicorn raises the signal again once it has stopped: exit normally so the profile is kept.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGUSR1, _restart)
    return sceau(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

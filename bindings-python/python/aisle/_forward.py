"""Stops forwarding at interpreter exit.

Forwarding runs on the core's own threads, which take the GIL to call a callback exporter's
function. Once the interpreter starts shutting down they could not get it back, so every
``Streams`` that was started is stopped (its workers joined, with the GIL released) by an
``atexit`` hook, which runs before the shutdown begins. The set is weak: a store that is
gone needs nothing stopped.
"""

from __future__ import annotations

import atexit
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._native import Streams

_running: weakref.WeakSet[Streams] = weakref.WeakSet()


def _started(streams: Streams) -> None:
    """Called by ``Streams.start()``."""
    _running.add(streams)


@atexit.register
def _stop_all() -> None:
    for streams in list(_running):
        streams.stop()

"""Init as Lambda runs it: the cyclic garbage collector off while a handler module initialises.

Init builds about 110,000 long-lived objects (botocore's service model, pydantic's validators,
the resolver). With the cyclic collector on, it scans them again and again while they are being
created, and later a full collection during a request walks them all (about 100 ms here). So
collection is off during init, and what init built is then frozen out of every later collection.
Init leaves under 1,000 unreachable objects behind, which stay. make bench measures the effect
(docs/performance.md). The collector is turned back on even if init fails. At a normal
interpreter exit (tests, the local API; Lambda never has one) the heap is unfrozen first, so that
objects only a collection can free are still finalized, and a buffered stream such as a
redirected stdout is flushed.

Usage, in a function's entry module (everything imported and built inside the block):

    with init_without_gc():
        from report.wiring import build_handler
        lambda_handler = build_handler(...)
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def init_without_gc() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        atexit.register(gc.unfreeze)
        gc.enable()

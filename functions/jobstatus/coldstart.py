"""Init as Lambda runs it: on Lambda, one vCPU for the process; the cyclic garbage collector off
while a handler module initialises.

**One vCPU.** A report's DynamoDB calls that do not depend on each other run at once on a small
thread pool: the threads wait on the network together, while only one of them at a time can run
Python (the GIL). When the kernel spreads them over two vCPUs, every hand-off between them (a
worker woken, the GIL passed back) is a wake-up across vCPUs, which in a virtual machine costs an
interprocessor interrupt. On one vCPU the same hand-offs are plain context switches and the calls
still wait on the network together. The bench's pair harness measured a 1-job report at 5.8 ms of
CPU spread over two vCPUs and 4.3 ms on one, against 3.9 to 4.0 ms for the floor, which runs the
same calls one by one on one thread whichever vCPUs it has (docs/performance.md). The GIL keeps the
process to about one vCPU of Python in any case, and below 1,769 MB Lambda's CPU share is under one
vCPU. So on Lambda (AWS_EXECUTION_ENV starts with AWS_Lambda_) the process keeps to the lowest vCPU
it may use, before any thread exists: threads started later inherit it. Elsewhere (tests, the local
API, a developer's shell) nothing changes, so that processes which share a machine are not all put
on its first CPU. Where the call is refused or missing (not Linux) the process runs as before.

**The collector.**
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

    with lambda_init():
        from report.wiring import build_handler
        lambda_handler = build_handler(...)
"""

from __future__ import annotations

import atexit
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

LAMBDA_RUNTIME_PREFIX = "AWS_Lambda_"  # AWS_EXECUTION_ENV, reserved and set by every Lambda runtime


def keep_to_one_cpu() -> None:
    """On Lambda, the calling thread (at init, the only one) and every thread it starts later keep
    to the lowest vCPU the process may use. Anywhere else, or where the call fails, nothing."""
    if not os.environ.get("AWS_EXECUTION_ENV", "").startswith(LAMBDA_RUNTIME_PREFIX):
        return
    try:
        allowed = os.sched_getaffinity(0)
        if len(allowed) > 1:
            os.sched_setaffinity(0, {min(allowed)})
    except (AttributeError, OSError):  # not Linux, or refused: the threads run where the kernel puts them
        return


@contextmanager
def lambda_init() -> Iterator[None]:
    keep_to_one_cpu()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        atexit.register(gc.unfreeze)
        gc.enable()

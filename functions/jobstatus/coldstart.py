"""Init as Lambda runs it: on Lambda, the init thread and the threads it starts kept to one vCPU;
the cyclic garbage collector off while a handler module initialises.

**One vCPU.** A report's DynamoDB calls that do not depend on each other run at once on a small
thread pool: the threads wait on the network together, while only one of them at a time can run
Python (the GIL). When the kernel spreads them over two vCPUs, every hand-off between them (a
worker woken, the GIL passed back) is a wake-up across vCPUs, which in a virtual machine costs an
interprocessor interrupt. On one vCPU the same hand-offs are plain context switches and the calls
still wait on the network together. On this project's 2-vCPU build machine the bench's pair harness
measured a 1-job report at 5.8 ms of CPU spread over two vCPUs against the floor's 4.1 ms, and 4.3
ms on one against 4.0 ms (the floor runs the same calls one by one on one thread;
docs/performance.md); on Lambda's own vCPUs it is likely, not measured. Where one vCPU gives
nothing up, the thread that runs init keeps to the lowest vCPU the process may use, and the threads
it starts later inherit that: in a Lambda execution environment (AWS_EXECUTION_ENV and
AWS_LAMBDA_RUNTIME_API, both set by Lambda) that runs this one process (not Lambda Managed
Instances, whose Python runtime runs several, AWS_LAMBDA_MAX_CONCURRENCY), not under sam local
(AWS_SAM_LOCAL; the one emulator recognised: under another that sets Lambda's variables, set
KEEP_TO_ONE_VCPU=false), with at most one vCPU's share of CPU (AWS_LAMBDA_FUNCTION_MEMORY_SIZE up
to 1,769 MB; the GIL keeps Python to about one vCPU in any case). Anywhere else (tests, the local
API, sam local, a developer's shell) nothing changes, so that processes are not all put on one CPU.
Where the call is refused or missing (not Linux) init goes on.

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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

ONE_VCPU_MB = 1769  # Lambda's CPU share reaches one full vCPU at this memory size


def one_lambda_process_on_one_vcpu(environment: Mapping[str, str]) -> bool:
    """A Lambda execution environment that runs this one process, with at most one vCPU's share:
    where keeping to one vCPU gives nothing up and puts no other process beside this one."""
    memory = environment.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    return (
        environment.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_")  # the runtime identifier
        and "AWS_LAMBDA_RUNTIME_API" in environment  # a Lambda runtime drives this process
        and "AWS_SAM_LOCAL" not in environment  # sam local: containers that share the developer's machine
        and "AWS_LAMBDA_MAX_CONCURRENCY" not in environment  # Managed Instances: a process per request
        and environment.get("KEEP_TO_ONE_VCPU", "true") != "false"  # the operator's way out
        and memory.isascii()
        and memory.isdigit()
        and int(memory) <= ONE_VCPU_MB
    )


def keep_to_one_cpu() -> None:
    """Where one_lambda_process_on_one_vcpu holds, the calling thread and every thread it starts
    later keep to the lowest vCPU the process may use. Anywhere else, or where the call fails, nothing."""
    if not one_lambda_process_on_one_vcpu(os.environ):
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

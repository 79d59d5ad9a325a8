"""The function runtime: for each function, a pool of worker processes, each one execution environment.

A worker imports the handler once (its cold start) and runs one event at a time, as Lambda does;
several workers give real concurrency. Workers are started with `spawn`, so that they import only
what the function imports: this module must not import moto or boto3 at its top.

A worker exits when the stack's process does, however it ends: a SIGKILL runs none of the stack's
clean-up, and the pool's own shutdown needs a live parent (without one, a worker waits forever on
its call queue, a pipe whose write end it holds itself).
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from devkit.context import LambdaContext
from devkit.template import Function

_state: dict[str, Any] = {}


class FunctionTimeout(Exception):
    """The function did not answer within its timeout."""


class FunctionError(Exception):
    """The function raised (Lambda reports an unhandled error)."""


def _init_worker(code_dir: str, module: str, handler: str, environment: dict[str, str]) -> None:
    """The cold start: the environment, then the handler module imported from the CodeUri."""
    _exit_with_parent()
    os.environ.update(environment)
    sys.path.insert(0, code_dir)  # the CodeUri is the root of the deployment package, as /var/task is
    _state["handler"] = getattr(importlib.import_module(module), handler)


def _exit_with_parent() -> None:
    """Exit this worker as soon as the process that started it has ended, from a thread of its own.

    multiprocessing hands a spawned child its parent's sentinel (`parent_process().sentinel`, on
    POSIX a pipe whose write end only the parent holds), which becomes ready once the parent has
    ended, whether it exited or was killed. On any OS multiprocessing runs on, and it needs no polling.
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing: nothing to watch
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)  # at once: an event this worker is running has no one left to answer

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _invoke(event: dict[str, Any], function_name: str, memory_mb: int, timeout_s: int, request_id: str) -> Any:
    context = LambdaContext(
        function_name=function_name,
        memory_limit_in_mb=memory_mb,
        aws_request_id=request_id,
        deadline_ms=time.time() * 1000 + timeout_s * 1000,
    )
    try:
        return _state["handler"](event, context)
    except Exception as exc:  # noqa: BLE001 - any unhandled error is the function's error, as in Lambda
        # What Lambda reports of an unhandled error (errorType, errorMessage, stackTrace), as plain
        # text: the exception itself may hold what cannot cross back to this process (tracebacks).
        trace = "".join(traceback.format_exception(exc))
        raise FunctionError(f"{type(exc).__name__}: {exc}\n{trace}") from None


def _ready() -> int:
    return os.getpid()


class FunctionRuntime:
    """One function's execution environments."""

    def __init__(self, function: Function, environment: dict[str, str], workers: int) -> None:
        self.function = function
        self._environment = environment
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> FunctionRuntime:
        self._pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(str(self.function.code_dir), self.function.module, self.function.handler, self._environment),
        )
        return self

    def warm(self) -> None:
        """Start every worker now (its cold start), not on the first events."""
        if self._pool is None:
            raise RuntimeError("FunctionRuntime.start() was not called")
        for future in [self._pool.submit(_ready) for _ in range(self._workers)]:
            future.result(timeout=120)

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        """The handler's result; FunctionTimeout or FunctionError as Lambda would report them."""
        if self._pool is None:
            raise RuntimeError("FunctionRuntime.start() was not called")
        function = self.function
        future = self._pool.submit(
            _invoke, event, function.logical_id, function.memory_mb, function.timeout_s, request_id
        )
        try:
            return future.result(timeout=function.timeout_s + 5)
        except FutureTimeout:
            raise FunctionTimeout(function.logical_id) from None
        except FunctionError:
            raise
        except Exception as exc:  # the worker process itself failed (it crashed, or could not import)
            raise FunctionError(f"{type(exc).__name__}: {exc}") from exc

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

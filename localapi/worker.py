"""The worker side of the local API: one Lambda-like execution environment per process.

Kept apart from the server so that a worker imports only what the function imports (no moto).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from localapi.template import LOCAL_ACCOUNT, LOCAL_REGION

_state: dict[str, Any] = {}


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline_ms: float
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.deadline_ms - time.time() * 1000))


def init_worker(code_dir: str, module: str, handler: str, environment: dict[str, str]) -> None:
    """The cold start: the environment, then the handler module imported from the CodeUri."""
    os.environ.update(environment)
    sys.path.insert(0, code_dir)  # the CodeUri is the root of the deployment package, as /var/task is
    _state["handler"] = getattr(importlib.import_module(module), handler)


def invoke(event: dict[str, Any], function_name: str, memory_mb: int, timeout_s: int) -> Any:
    context = LambdaContext(
        function_name=function_name,
        memory_limit_in_mb=memory_mb,
        aws_request_id=event["requestContext"]["requestId"],
        deadline_ms=time.time() * 1000 + timeout_s * 1000,
    )
    return _state["handler"](event, context)


def ready() -> int:
    return os.getpid()

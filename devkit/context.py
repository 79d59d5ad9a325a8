"""The Lambda context object, as handlers and Powertools read it: the local stack's and the tests'."""

from __future__ import annotations

import time
from dataclasses import dataclass

from devkit.template import LOCAL_ACCOUNT, LOCAL_REGION


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

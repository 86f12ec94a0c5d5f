"""The real handlers, called in-process the way Lambda calls them: one event, a context object.

Lambda runs one invocation per execution environment at a time, and the handlers' module-level
state assumes it (Powertools' logger keys, metrics; the two functions share the logger). Here the
functions share one process, so one invocation runs at a time, whichever the function: otherwise
the API's log lines could carry the notifier's request ids and the other way round.
"""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.local.template import FunctionSpec

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
_ONE_AT_A_TIME = threading.Lock()


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline_ms: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


@dataclass
class LocalFunction:
    spec: FunctionSpec
    _handler: Callable[[dict[str, Any], Any], Any] | None = None

    @property
    def name(self) -> str:
        return self.spec.logical_id

    def handler(self) -> Callable[[dict[str, Any], Any], Any]:
        # Imported on first use, after the environment is set, as Lambda's cold start does.
        if self._handler is None:
            module_name, _, attribute = self.spec.handler.rpartition(".")
            self._handler = getattr(importlib.import_module(module_name), attribute)
        return self._handler

    def invoke(self, event: dict[str, Any]) -> Any:
        context = LambdaContext(
            function_name=self.name,
            memory_limit_in_mb=self.spec.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}",
            aws_request_id=str(uuid.uuid4()),
            deadline_ms=int(time.time() * 1000) + self.spec.timeout_s * 1000,
            log_group_name=f"/aws/lambda/{self.name}",
        )
        handler = self.handler()
        with _ONE_AT_A_TIME:
            started = time.monotonic()
            result = handler(event, context)
        elapsed = time.monotonic() - started
        if elapsed > self.spec.timeout_s:
            print(f"warning: {self.name} ran {elapsed:.1f} s, over its {self.spec.timeout_s} s timeout")
        return result

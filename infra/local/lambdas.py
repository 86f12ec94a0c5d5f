"""The real handlers, called in-process the way Lambda calls them: one event, a context object.

Lambda runs one invocation per execution environment at a time, and the handlers' module-level
state assumes it (Powertools' logger keys, metrics; the two functions share the logger). Here the
functions share one process, so one invocation runs at a time, whichever the function: otherwise
the API's log lines could carry the notifier's request ids and the other way round.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.local.lambda_events import lambda_context
from infra.local.template import FunctionSpec, functions_dir

_ONE_AT_A_TIME = threading.Lock()


def put_functions_on_path() -> None:
    """The functions' CodeUri on the import path, as Lambda puts it."""
    code = str(functions_dir())
    if code not in sys.path:
        sys.path.insert(0, code)


@dataclass
class LocalFunction:
    spec: FunctionSpec

    @property
    def name(self) -> str:
        return self.spec.logical_id

    @functools.cached_property
    def handler(self) -> Callable[[dict[str, Any], Any], Any]:
        """Imported on first use, after the environment is set, as Lambda's cold start does."""
        put_functions_on_path()
        module_name, _, attribute = self.spec.handler.rpartition(".")
        return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]

    def invoke(self, event: dict[str, Any]) -> Any:
        context = lambda_context(self.name, self.spec.memory_mb, self.spec.timeout_s)
        handler = self.handler
        with _ONE_AT_A_TIME:
            started = time.monotonic()
            result = handler(event, context)
        elapsed = time.monotonic() - started
        if elapsed > self.spec.timeout_s:
            print(f"warning: {self.name} ran {elapsed:.1f} s, over its {self.spec.timeout_s} s timeout")
        return result

"""Two fixes to moto 5.2.5's DynamoDB that the local stack needs, applied to the in-process server.

A cancelled ``TransactWriteItems`` (every duplicate request cancels one) rolls back by swapping in
deep copies of the tables taken before the call. That (1) leaves the stream shard that readers
hold iterators on orphaned, so the poller would never see another record, and (2) loses any write
another thread made meanwhile, and lets a stream reader see the cancelled writes in between.
Real DynamoDB does none of this. Here writes and stream reads take one lock, and a rollback keeps
the live shard, minus the cancelled records. A third patch forgets shard iterators once used.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()
_PATCHED = "_local_stack_patched"


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return locked


def _keep_live_shards(transact_write_items: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(transact_write_items)
    def patched(backend: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            shards = {
                name: (table.stream_shard, len(table.stream_shard.items))
                for name, table in backend.tables.items()
                if table.stream_shard is not None
            }
            try:
                return transact_write_items(backend, *args, **kwargs)
            except Exception:
                for name, (shard, length) in shards.items():
                    table = backend.tables.get(name)
                    if table is not None:
                        del shard.items[length:]
                        shard.table = table
                        table.stream_shard = shard
                raise

    return patched


def _forget_used_iterators(get_records: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_records)
    def patched(backend: Any, iterator_arn: str, *args: Any, **kwargs: Any) -> Any:
        answer = get_records(backend, iterator_arn, *args, **kwargs)
        # moto keeps every iterator it ever issued; the poller asks for one five times a second
        # and never reuses one, so a whole day of polling would otherwise pile up in memory.
        backend.shard_iterators.pop(iterator_arn, None)
        return answer

    return patched


def patch_moto() -> None:
    """Apply the fixes once per process (before the server handles a request)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    if getattr(DynamoDBBackend, _PATCHED, False):
        return
    for name in ("put_item", "update_item", "delete_item"):
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = _keep_live_shards(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = _locked(_forget_used_iterators(DynamoDBStreamsBackend.get_records))  # type: ignore[method-assign]
    setattr(DynamoDBBackend, _PATCHED, True)

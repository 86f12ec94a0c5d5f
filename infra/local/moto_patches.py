"""Three fixes to moto 5.2.5's DynamoDB, each for something real DynamoDB never does.

moto rolls a cancelled ``TransactWriteItems`` (every duplicate request cancels one) back by
swapping in deep copies of the tables taken before the call. tests/e2e/test_moto_patches.py runs
each case on moto with and without these fixes: when a moto upgrade makes a fix unneeded, the
test of moto alone fails and says which fix to remove.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any
from unittest import mock

_LOCK = threading.RLock()


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
                    if (table := backend.tables.get(name)) is not None:
                        del shard.items[length:]
                        shard.table, table.stream_shard = table, shard
                raise

    return patched


def _forget_used_iterators(get_records: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_records)
    def patched(backend: Any, iterator_arn: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return get_records(backend, iterator_arn, *args, **kwargs)
        finally:
            backend.shard_iterators.pop(iterator_arn, None)

    return patched


def patch_moto() -> ExitStack:
    """Apply the fixes to moto's backends (before its server handles a request); ``close()`` undoes them."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    fixes: list[tuple[type, str, Callable[..., Any]]] = [
        # The rollback orphans the shard readers hold (no record after it) and keeps the cancelled writes.
        (DynamoDBBackend, "transact_write_items", _keep_live_shards),
        # moto keeps every shard iterator it issues (the poller takes five a second): forget a used one.
        (DynamoDBStreamsBackend, "get_records", _forget_used_iterators),
        # One lock for writes and stream reads: no rollback loses a concurrent write or shows a cancelled one.
        *((DynamoDBBackend, name, _locked) for name in ("put_item", "update_item", "delete_item")),
        (DynamoDBStreamsBackend, "get_records", _locked),
    ]
    undo = ExitStack()
    for owner, name, fix in fixes:
        undo.enter_context(mock.patch.object(owner, name, fix(getattr(owner, name))))
    return undo

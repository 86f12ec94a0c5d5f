"""The notifier's event source mapping: the table's stream, fed to the real handler like Lambda does.

Per shard and in order: batches of at most ``BatchSize`` records that pass ``FilterCriteria``;
partial batch failures retry from the first failed record; an exception fails the whole batch and
bisects it; retries back off exponentially; after the last retry (or past the maximum record age)
the records' metadata goes to the dead-letter queue, like Lambda's on-failure destination.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.filters import compile_pattern, matches_any
from infra.local.lambdas import LocalFunction
from infra.local.template import StreamSourceSpec


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff (base, 2 x base ... capped); ``max_retries`` None: until the record expires."""

    max_retries: int | None
    base_delay: float = 0.5
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.base_delay * 2 ** (attempt - 1), self.max_delay))


def local_retry_policy(template_retries: int, max_delay: float, spanning: float = 60.0) -> RetryPolicy:
    """The template's retry count, raised until the retries span ``spanning`` seconds.

    Locally the retries are fast, so the template's count alone would give up on a 20-second SES
    outage; spanning a minute loses nothing while keeping the feedback quick.
    """
    if template_retries < 0:
        return RetryPolicy(max_retries=None, max_delay=max_delay)
    policy = RetryPolicy(max_retries=0, max_delay=max_delay)
    count, total = 0, 0.0
    while total <= spanning:
        count += 1
        total += policy.delay(count)
    return RetryPolicy(max_retries=max(template_retries, count), max_delay=max_delay)


def _jsonable(value: Any) -> Any:
    """A stream record value as Lambda's JSON event has it (binary as base64, times as epoch seconds)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(item) for item in value]
    return value


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """One record of the event Lambda gives a function from a DynamoDB stream."""
    event = {key: _jsonable(record[key]) for key in ("eventID", "eventName", "eventVersion", "eventSource")}
    event["awsRegion"] = record["awsRegion"]
    event["dynamodb"] = _jsonable(record["dynamodb"])
    if "userIdentity" in record:
        event["userIdentity"] = record["userIdentity"]
    event["eventSourceARN"] = stream_arn
    return event


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


@dataclass(frozen=True)
class _Outcome:
    failed_from: int | None  # index of the first failed record; None: the batch succeeded
    error: str | None = None


class StreamPoller:
    """A thread that polls the table's stream and delivers it to one function."""

    def __init__(
        self,
        *,
        session: Any,
        table_name: str,
        spec: StreamSourceSpec,
        function: LocalFunction,
        retry: RetryPolicy,
        dead_letter_queue_url: str,
        interval: float = 0.2,
    ) -> None:
        self._dynamodb = session.client("dynamodb")
        self._streams = session.client("dynamodbstreams")
        self._sqs = session.client("sqs")
        self._table_name = table_name
        self._spec = spec
        self._function = function
        self._retry = retry
        self._dlq_url = dead_letter_queue_url
        self._interval = interval
        self._filters = [compile_pattern(pattern) for pattern in spec.filter_patterns]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self._stream_arn: str | None = None  # None: look it up (again) before the next read
        self._last_stream_arn: str | None = None
        self._iterators: dict[str, str] = {}
        self._closed: set[str] = set()
        self._checkpoints: dict[str, str] = {}
        self._shards_seen_at = 0.0
        self._problem: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll()
                self._report(None)
            except ClientError as error:
                self._report(error.response.get("Error", {}).get("Code", "") or type(error).__name__)
                # Look the stream up again and resume after the last delivered record of each shard.
                self._stream_arn = None
            except BotoCoreError as error:
                self._report(type(error).__name__)
            self._stop.wait(self._interval)

    def _report(self, problem: str | None) -> None:
        # One line when the stream becomes unreadable and one when it recovers, not one per poll.
        if problem != self._problem:
            if problem:
                print(f"stream: cannot read the stream of table {self._table_name} ({problem}); retrying")
            elif self._problem:
                print(f"stream: reading the stream of table {self._table_name} again")
            self._problem = problem

    def _poll(self) -> None:
        if self._stream_arn is None:
            arn = self._dynamodb.describe_table(TableName=self._table_name)["Table"].get("LatestStreamArn")
            if not arn:
                raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "DescribeTable")
            if arn != self._last_stream_arn:
                self._checkpoints.clear()  # a new stream (the table was re-created) starts afresh
            self._stream_arn = self._last_stream_arn = arn
            self._iterators.clear()
            self._closed.clear()
            self._shards_seen_at = 0.0
        if not self._iterators or time.monotonic() - self._shards_seen_at > 1.0:
            self._discover_shards(self._stream_arn)
        for shard_id in list(self._iterators):
            answer = self._streams.get_records(ShardIterator=self._iterators[shard_id], Limit=1000)
            records = answer.get("Records", [])
            if records and not self._deliver(shard_id, [lambda_record(r, self._stream_arn) for r in records]):
                return  # stopping: the iterator stays where it was
            if records:
                self._checkpoints[shard_id] = _sequence(records[-1])
            next_iterator = answer.get("NextShardIterator")
            if next_iterator:
                self._iterators[shard_id] = next_iterator
            else:
                del self._iterators[shard_id]
                self._closed.add(shard_id)

    def _discover_shards(self, stream_arn: str) -> None:
        shards: list[dict[str, Any]] = []
        start: dict[str, str] = {}
        while True:
            page = self._streams.describe_stream(StreamArn=stream_arn, **start)["StreamDescription"]
            shards.extend(page.get("Shards", []))
            if not page.get("LastEvaluatedShardId"):
                break
            start = {"ExclusiveStartShardId": page["LastEvaluatedShardId"]}
        known = {shard["ShardId"] for shard in shards}
        for shard in shards:
            shard_id = shard["ShardId"]
            parent = shard.get("ParentShardId")
            if shard_id in self._iterators or shard_id in self._closed:
                continue
            if parent in known and parent not in self._closed:
                continue  # a child shard waits until its parent is read to the end, keeping order
            position: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
            if shard_id in self._checkpoints:
                position = {
                    "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                    "SequenceNumber": self._checkpoints[shard_id],
                }
            self._iterators[shard_id] = self._streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard_id, **position
            )["ShardIterator"]
        self._shards_seen_at = time.monotonic()

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> bool:
        """Deliver records in order, with retries; False when told to stop on the way."""
        pending = [record for record in records if matches_any(self._filters, record)]
        limit, attempts = self._spec.batch_size, 0
        while pending:
            expired = self._expired(pending[:limit])
            if expired:
                self._dead_letter(shard_id, expired, "RecordAgeExceeded", attempts, None)
                pending, attempts = pending[len(expired) :], 0
                continue
            batch = pending[:limit]
            outcome = self._invoke(batch)
            if outcome.failed_from is None:
                pending, attempts, limit = pending[len(batch) :], 0, self._spec.batch_size
                continue
            if outcome.error and self._spec.bisect_on_error and len(batch) > 1:
                # Bisecting does not count as a retry (Lambda's rule); the halves are retried.
                limit = (len(batch) + 1) // 2
                print(f"stream: {self._function.name} raised {outcome.error}; bisecting {len(batch)} records")
                continue
            pending = pending[outcome.failed_from :]
            failed = batch[outcome.failed_from :]
            attempts += 1
            if self._retry.max_retries is not None and attempts > self._retry.max_retries:
                self._dead_letter(shard_id, failed, "RetryAttemptsExhausted", attempts, outcome.error)
                pending, attempts, limit = pending[len(failed) :], 0, self._spec.batch_size
                continue
            delay = self._retry.delay(attempts)
            cause = (
                f"raised {outcome.error}"
                if outcome.error
                else f"failed {len(failed)} of {len(batch)} records"
            )
            most = self._retry.max_retries if self._retry.max_retries is not None else "∞"
            print(f"stream: {self._function.name} {cause}; retry {attempts}/{most} in {delay:g} s")
            if self._stop.wait(delay):
                return False
        return True

    def _expired(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self._spec.maximum_record_age_s < 0:
            return []
        oldest_allowed = time.time() - self._spec.maximum_record_age_s
        expired = []
        for record in batch:
            if record["dynamodb"].get("ApproximateCreationDateTime", time.time()) >= oldest_allowed:
                break
            expired.append(record)
        return expired

    def _invoke(self, batch: list[dict[str, Any]]) -> _Outcome:
        try:
            result = self._function.invoke({"Records": batch})
        except Exception as error:  # the function's error fails the batch, as in Lambda
            return _Outcome(failed_from=0, error=type(error).__name__)
        if not self._spec.report_batch_item_failures or not isinstance(result, dict):
            return _Outcome(failed_from=None)
        failures = result.get("batchItemFailures") or []
        if not failures:
            return _Outcome(failed_from=None)
        sequences = [_sequence(record) for record in batch]
        failed = [str(item.get("itemIdentifier") or "") for item in failures if isinstance(item, dict)]
        if len(failed) != len(failures) or any(seq not in sequences for seq in failed):
            return _Outcome(failed_from=0)  # an unknown or empty identifier fails the whole batch
        return _Outcome(failed_from=min(sequences.index(seq) for seq in failed))

    def _dead_letter(
        self, shard_id: str, records: list[dict[str, Any]], condition: str, attempts: int, error: str | None
    ) -> None:
        first, last = records[0], records[-1]

        def arrival(record: dict[str, Any]) -> str:
            seconds = record["dynamodb"].get("ApproximateCreationDateTime", time.time())
            return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if error:
            response_context["functionError"] = "Unhandled"
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{self._function.name}",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": _sequence(first),
                "endSequenceNumber": _sequence(last),
                "approximateArrivalOfFirstRecord": arrival(first),
                "approximateArrivalOfLastRecord": arrival(last),
                "batchSize": len(records),
                "streamArn": self._stream_arn,
            },
        }
        try:
            self._sqs.send_message(QueueUrl=self._dlq_url, MessageBody=json.dumps(message))
        except (ClientError, BotoCoreError) as failure:
            print(f"dead-letter: could not record {len(records)} record(s) in the queue ({failure})")
            return
        print(
            f"dead-letter: {len(records)} record(s), sequence {_sequence(first)}..{_sequence(last)}, "
            f"sent to {self._dlq_url} ({condition} after {attempts} invocation(s))"
        )

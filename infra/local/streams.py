"""The notifier's event source mapping: the table's stream, fed to the real handler like Lambda does.

In order: batches of at most ``BatchSize`` records that pass ``FilterCriteria``;
partial batch failures retry from the first failed record; an exception fails the whole batch and
bisects it; retries back off exponentially; after the last retry the records' metadata goes to the
dead-letter queue, like Lambda's on-failure destination.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.local.filters import compile_pattern, matches_any
from infra.local.lambda_events import ACCOUNT_ID, REGION
from infra.local.lambdas import LocalFunction
from infra.local.template import StreamSourceSpec


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff (base, 2 x base ... capped), then the dead-letter queue."""

    max_retries: int
    base_delay: float = 0.5
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.base_delay * 2 ** (attempt - 1), self.max_delay))


def local_retry_policy(
    template_retries: int, max_delay: float, retries: int | None = None, spanning: float = 60.0
) -> RetryPolicy:
    """``retries`` when given; else the template's retry count, raised until the retries span ``spanning`` s.

    Locally the retries are fast, so the template's count alone would give up on a 20-second SES
    outage; spanning a minute loses nothing while keeping the feedback quick.
    """
    if retries is not None:
        return RetryPolicy(retries, max_delay=max_delay)
    policy = RetryPolicy(template_retries, max_delay=max_delay)
    while sum(policy.delay(attempt) for attempt in range(1, policy.max_retries + 1)) <= spanning:
        policy = replace(policy, max_retries=policy.max_retries + 1)
    return policy


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """One record of the event Lambda gives a function from a DynamoDB stream (times in epoch seconds)."""
    dynamodb = dict(record["dynamodb"])
    if isinstance(created := dynamodb.get("ApproximateCreationDateTime"), datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


@dataclass
class StreamPoller:
    """A thread that polls the table's stream and delivers it to one function."""

    table_name: str
    spec: StreamSourceSpec
    function: LocalFunction
    retry: RetryPolicy
    dead_letter_queue_url: str
    interval: float = 0.2

    def __post_init__(self) -> None:
        self._dynamodb, self._streams, self._sqs = map(boto3.client, ("dynamodb", "dynamodbstreams", "sqs"))
        self._filters = [compile_pattern(pattern) for pattern in self.spec.filter_patterns]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        # moto gives a table one shard, which never closes: one iterator, always with a next one.
        self._stream_arn = self._shard_id = self._iterator = ""  # "": look them up (again) first
        self._checkpoint = ""  # the sequence number of the last delivered record
        self._problem = ""  # why the stream cannot be read, while it cannot

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            problem = ""
            try:
                self._poll()
            except ClientError as error:
                problem = error.response.get("Error", {}).get("Code", "") or type(error).__name__
                self._iterator = ""  # look the stream up again, and resume after the checkpoint
            except BotoCoreError as error:
                problem = type(error).__name__
            # One line when the stream becomes unreadable and one when it recovers, not one per poll.
            if problem and problem != self._problem:
                print(f"stream: cannot read the stream of table {self.table_name} ({problem}); retrying")
            elif self._problem and not problem:
                print(f"stream: reading the stream of table {self.table_name} again")
            self._problem = problem
            self._stop.wait(self.interval)

    def _poll(self) -> None:
        if not self._iterator:
            self._open_stream()
        answer = self._streams.get_records(ShardIterator=self._iterator, Limit=1000)
        records = [lambda_record(record, self._stream_arn) for record in answer.get("Records", [])]
        if records:
            if not self._deliver(records):
                return  # stopping: the iterator stays where it was
            self._checkpoint = _sequence(records[-1])
        self._iterator = answer["NextShardIterator"]

    def _open_stream(self) -> None:
        """The table's stream, read from after the last delivered record."""
        arn = self._dynamodb.describe_table(TableName=self.table_name)["Table"].get("LatestStreamArn")
        if not arn:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "DescribeTable")
        (shard,) = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        position = {"ShardIteratorType": "TRIM_HORIZON"}
        if self._checkpoint:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._checkpoint}
        answer = self._streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], **position)
        self._stream_arn, self._shard_id, self._iterator = arn, shard["ShardId"], answer["ShardIterator"]

    def _deliver(self, records: list[dict[str, Any]]) -> bool:
        """Deliver records in order, with retries; False when told to stop on the way."""
        pending = [record for record in records if matches_any(self._filters, record)]
        size, retries = self.spec.batch_size, 0
        while pending:
            batch = pending[:size]
            failed_from, error = self._invoke(batch)
            if failed_from is None:
                pending, size, retries = pending[len(batch) :], self.spec.batch_size, 0
            elif error and self.spec.bisect_on_error and len(batch) > 1:
                # Bisecting does not count as a retry (Lambda's rule); the halves are retried.
                size = (len(batch) + 1) // 2
                print(f"stream: {self.function.name} raised {error}; bisecting {len(batch)} records")
            elif retries >= self.retry.max_retries:
                self._dead_letter(batch[failed_from:], retries + 1, error)
                pending, size, retries = pending[len(batch) :], self.spec.batch_size, 0
            else:
                pending = pending[failed_from:]
                retries += 1
                delay = self.retry.delay(retries)
                failed = len(batch) - failed_from
                cause = f"raised {error}" if error else f"failed {failed} of {len(batch)} records"
                retry = f"retry {retries}/{self.retry.max_retries} in {delay:g} s"
                print(f"stream: {self.function.name} {cause}; {retry}")
                if self._stop.wait(delay):
                    return False
        return True

    def _invoke(self, batch: list[dict[str, Any]]) -> tuple[int | None, str | None]:
        """The index of the batch's first failed record (None: all delivered), and the error raised."""
        try:
            result = self.function.invoke({"Records": batch})
        except Exception as error:  # the function's error fails the batch, as in Lambda
            return 0, type(error).__name__
        if not self.spec.report_batch_item_failures or not isinstance(result, dict):
            return None, None
        failures = result.get("batchItemFailures") or []
        sequences = [_sequence(record) for record in batch]
        failed = [item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures]
        if not set(failed) <= set(sequences):
            return 0, None  # an unknown or empty identifier fails the whole batch
        return min((sequences.index(sequence) for sequence in failed), default=None), None

    def _dead_letter(self, records: list[dict[str, Any]], invocations: int, error: str | None) -> None:
        """Lambda's on-failure record of the batch it gave up on (its metadata, not the records)."""
        first, last = records[0], records[-1]

        def arrival(record: dict[str, Any]) -> str:
            seconds = record["dynamodb"]["ApproximateCreationDateTime"]
            return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function.name}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if error else {}),
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": self._shard_id,
                "startSequenceNumber": _sequence(first),
                "endSequenceNumber": _sequence(last),
                "approximateArrivalOfFirstRecord": arrival(first),
                "approximateArrivalOfLastRecord": arrival(last),
                "batchSize": len(records),
                "streamArn": self._stream_arn,
            },
        }
        try:
            self._sqs.send_message(QueueUrl=self.dead_letter_queue_url, MessageBody=json.dumps(message))
        except (ClientError, BotoCoreError) as failure:
            print(f"dead-letter: could not record {len(records)} record(s) in the queue ({failure})")
            return
        print(
            f"dead-letter: {len(records)} record(s), sequence {_sequence(first)}..{_sequence(last)}, "
            f"sent to {self.dead_letter_queue_url} (RetryAttemptsExhausted after {invocations} invocation(s))"
        )

"""The HTTP contract's response table (tests/http_contract.py), in-process against moto.

Given the intake handler behind the local stack's own API Gateway adapter (the same proxy events,
the same reading of the result) and a table built from template.yaml, when a client sends what a
row describes, then it gets that row's answer. tests/e2e runs the same scenarios over real HTTP.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from infra.local.lambda_events import IncomingRequest
from infra.local.lambdas import LocalFunction
from infra.local.server import LocalApi
from infra.local.template import api_spec, function_specs
from infra.provision import Provisioned
from tests.http_contract import PATH, SCENARIOS, Answer, ContractClient, Scenario
from tests.integration.helpers import SOURCE_IP, requests_in


class InProcessClient(ContractClient):
    def __init__(self, moto_aws: Provisioned, environment: dict[str, str]) -> None:
        self.origins = tuple(environment["ALLOWED_ORIGINS"].split(","))
        self.thank_you_url = environment["THANK_YOU_URL"]
        self._table = moto_aws.table_name
        functions = {name: LocalFunction(spec) for name, spec in function_specs().items()}
        self._api = LocalApi(api_spec(), functions, rate=1000, burst=1000, port=443)

    def send(self, method: str, headers: dict[str, str], body: bytes = b"", path: str = PATH) -> Answer:
        request = IncomingRequest(method, path, "", list(headers.items()), body, SOURCE_IP, 443)
        response = self._api.respond(request)
        return Answer.of(response.status, response.headers, response.body)

    def requests(self) -> list[dict[str, Any]]:
        return requests_in(boto3.client("dynamodb"), self._table)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_contract_in_process(
    scenario: Scenario, moto_aws: Provisioned, environment: dict[str, str]
) -> None:
    if scenario.storage_down:
        boto3.client("dynamodb").delete_table(TableName=moto_aws.table_name)

    scenario.run(InProcessClient(moto_aws, environment))

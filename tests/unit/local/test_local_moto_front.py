"""DynamoDB and SQS requests answered past Flask (local/moto_front.py) get the answers moto's own
server gives: the same requests go to a vanilla moto server and to one behind ``LeanDispatcher``
(both in this process, on one moto state), and every answer is compared."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local import moto_front
from local.moto_front import LeanDispatcher, keep_alive_handler

# Headers that differ between any two answers (ids, clocks) or that only Flask's CORS hook adds
# (a request without Origin: an SDK; a browser sends Origin and is answered by Flask).
VARYING = {
    "date",
    "x-amzn-requestid",
    "x-amz-crc32",
    "server",
    "access-control-allow-origin",
    "x-amz-request-id",
    "connection",  # werkzeug's "close"; the lean path keeps the connection
    # Follows the body, which is compared without its clocks (a CreationDateTime of 14 digits or
    # 15); a wrong length would break the client's parse of every answer.
    "content-length",
}


# What differs between any two answers of one server (CORS headers included: Flask answers these).
ANY_TWO = VARYING - {"access-control-allow-origin"}


@contextmanager
def serve(app: Any, handler: type[Any]) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


class CountingHandler(keep_alive_handler()):  # type: ignore[misc]
    connections = 0

    def setup(self) -> None:
        type(self).connections += 1
        super().setup()


@pytest.fixture(scope="module")
def endpoints() -> Iterator[dict[str, str]]:
    vanilla = DomainDispatcherApplication(create_backend_app)
    lean = LeanDispatcher(DomainDispatcherApplication(create_backend_app))
    with serve(vanilla, MotoRequestHandler) as a, serve(lean, CountingHandler) as b:
        yield {"vanilla": a, "lean": b}


def clients(endpoint: str) -> tuple[Any, Any]:
    session = boto3.session.Session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x")
    config = Config(region_name="us-east-1", retries={"max_attempts": 1})
    return (
        session.client("dynamodb", endpoint_url=endpoint, config=config),
        session.client("sqs", endpoint_url=endpoint, config=config),
    )


def plain(answer: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """An answer without what differs between any two requests (ids, clocks, the port)."""
    if "QueueUrl" in answer:
        answer["QueueUrl"] = answer["QueueUrl"].replace(endpoint, "http://moto")
    meta = answer.pop("ResponseMetadata", {})
    headers = {k: v for k, v in meta.get("HTTPHeaders", {}).items() if k not in VARYING}
    for message in answer.get("Messages", []):
        message.pop("MessageId")
        message.pop("ReceiptHandle")
        message.get("Attributes", {}).pop("SentTimestamp", None)
        message.get("Attributes", {}).pop("ApproximateFirstReceiveTimestamp", None)
    answer.pop("MessageId", None)
    for key in ("CreatedTimestamp", "LastModifiedTimestamp"):
        answer.get("Attributes", {}).pop(key, None)
    answer.get("TableDescription", {}).pop("CreationDateTime", None)
    return {"status": meta.get("HTTPStatusCode"), "headers": headers, **answer}


def conversation(endpoint: str) -> list[Any]:
    """Every answer (or error) to one DynamoDB and SQS session; leaves no resource behind."""
    ddb, sqs = clients(endpoint)
    answers: list[Any] = []

    def ask(client: Any, call: str, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = getattr(client, call)(**kwargs)
        except ClientError as exc:
            answer = dict(exc.response)
        answers.append((call, plain(copy.deepcopy(answer), endpoint)))
        return answer

    ask(
        ddb,
        "create_table",
        TableName="front",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
    )
    for n in range(7):
        ask(
            ddb,
            "put_item",
            TableName="front",
            Item={"pk": {"S": "p"}, "sk": {"S": f"{n}"}, "v": {"N": f"{n}"}},
        )
    ask(ddb, "get_item", TableName="front", Key={"pk": {"S": "p"}, "sk": {"S": "3"}})
    ask(ddb, "get_item", TableName="nope", Key={"pk": {"S": "p"}, "sk": {"S": "3"}})  # ResourceNotFound
    ask(
        ddb,
        "update_item",
        TableName="front",
        Key={"pk": {"S": "p"}, "sk": {"S": "3"}},
        UpdateExpression="SET v = v + :one",
        ConditionExpression="v > :big",  # fails
        ExpressionAttributeValues={":one": {"N": "1"}, ":big": {"N": "99"}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    page = ask(
        ddb,
        "query",
        TableName="front",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Limit=4,
    )
    ask(
        ddb,
        "query",
        TableName="front",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Limit=4,
        ExclusiveStartKey=page["LastEvaluatedKey"],
    )
    ask(ddb, "delete_table", TableName="front")

    queue = ask(sqs, "create_queue", QueueName="front", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    ask(
        sqs,
        "send_message",
        QueueUrl=queue,
        MessageBody="hello",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    got = ask(
        sqs,
        "receive_message",
        QueueUrl=queue,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
    )
    ask(sqs, "delete_message", QueueUrl=queue, ReceiptHandle=got["Messages"][0]["ReceiptHandle"])
    ask(sqs, "receive_message", QueueUrl=queue, MaxNumberOfMessages=10)
    ask(sqs, "get_queue_attributes", QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    ask(sqs, "get_queue_url", QueueName="missing")  # QueueDoesNotExist
    ask(sqs, "delete_queue", QueueUrl=queue)
    return answers


def test_dynamodb_and_sqs_answer_as_moto_server_does(
    endpoints: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lean_calls = 0
    answer = moto_front._answer

    def counted(*args: Any) -> Any:
        nonlocal lean_calls
        lean_calls += 1
        return answer(*args)

    monkeypatch.setattr(moto_front, "_answer", counted)
    vanilla = conversation(endpoints["vanilla"])
    assert lean_calls == 0
    connections = CountingHandler.connections
    lean = conversation(endpoints["lean"])
    assert lean == vanilla
    assert lean_calls == len(lean)  # every one of them past Flask
    assert CountingHandler.connections - connections <= 2  # one kept-alive connection per client
    errors = {a["Error"]["Code"] for _, a in lean if "Error" in a}
    assert errors == {
        "ResourceNotFoundException",
        "ConditionalCheckFailedException",
        "AWS.SimpleQueueService.NonExistentQueue",
    }


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/no/such/path/here", {}),  # no SQS rule matches: Flask's 404
        ("POST", "/", {"X-Amz-Target": "AmazonSQS.ListQueues", "Origin": "https://console.example"}),  # CORS
        (
            "OPTIONS",
            "/",
            {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Origin": "https://console.example"},
        ),
    ],
)
def test_what_the_lean_path_leaves_to_flask_is_answered_by_flask(
    endpoints: dict[str, str], method: str, path: str, headers: dict[str, str]
) -> None:
    auth = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=x",
        "Content-Type": "application/x-amz-json-1.0",
    }
    found = []
    for name in ("vanilla", "lean"):
        answer = httpx.request(method, endpoints[name] + path, headers={**auth, **headers}, content=b"{}")
        # Queue URLs name the server that answered (both share one moto world: the queues other
        # tests of this process made are listed too), so each server's own address is set aside.
        text = answer.text.replace(endpoints[name].split("://", 1)[1].rstrip("/"), "moto")
        found.append(
            (answer.status_code, {k: v for k, v in answer.headers.items() if k not in ANY_TWO}, text)
        )
    assert found[0] == found[1]

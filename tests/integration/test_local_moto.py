"""moto as the local run and the tests use it (devkit/moto.py): a TransactWriteItems whose condition
fails leaves the table as it was, copying only what it writes, and the table's stream reads on."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devkit.streams import FilteredStream
from devkit.template import LOCAL_REGION
from tests.support import JOB_TABLE, TEMPLATE, scan


def update(pk: str, value: str, condition: str | None = None) -> dict[str, Any]:
    write: dict[str, Any] = {
        "TableName": JOB_TABLE,
        "Key": {"pk": {"S": pk}, "sk": {"S": "CURRENT"}},
        "UpdateExpression": "SET #s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": value}},
    }
    if condition:
        write["ConditionExpression"] = condition
    return {"Update": write}


def test_a_canceled_transaction_leaves_every_item_and_the_stream_as_they_were(ddb):
    stream = FilteredStream(ddb, boto3.client("dynamodbstreams", region_name=LOCAL_REGION), TEMPLATE)
    ddb.transact_write_items(TransactItems=[update("p#JOB#1", "job_running"), update("p#JOB#2", "job_running")])
    stream.batch()  # (moto streams an UpdateItem's new item as two records: its keys, then the item)
    before = scan(ddb, JOB_TABLE)
    # When a transaction's first write applies and its second fails its condition
    with pytest.raises(ClientError) as canceled:
        ddb.transact_write_items(
            TransactItems=[update("p#JOB#1", "job_finish"), update("p#JOB#2", "job_finish", "attribute_not_exists(pk)")]
        )
    assert canceled.value.response["Error"]["Code"] == "TransactionCanceledException"
    # Then no item changed, and the stream holds no record of it
    assert scan(ddb, JOB_TABLE) == before
    assert stream.batch()["Records"] == []
    # And the stream reads the next change, on the table moto put back
    ddb.transact_write_items(TransactItems=[update("p#JOB#3", "job_running")])
    assert {r["dynamodb"]["Keys"]["pk"]["S"] for r in stream.batch()["Records"]} == {"p#JOB#3"}

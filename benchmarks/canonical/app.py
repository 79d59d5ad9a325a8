"""The canonical Powertools design, as a user would otherwise deploy it: the benchmark's peer.

REST API resolver with validation, @idempotent (INPROGRESS lock, then COMPLETED), Tracer,
Logger and Metrics; the same history and current-status writes as ours, written the usual way
(batch_writer, then one conditional update per job). Its layer ships no bytecode, as `sam build`
makes it. Not deployed: benchmarks only.
"""

import os
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Canonical")
app = APIGatewayRestResolver(enable_validation=True)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
config = IdempotencyConfig(event_key_jmespath="[pathParameters.project_id, powertools_json(body).message_id]")
table = boto3.resource("dynamodb").Table(os.environ["JOB_STATUS_TABLE"])


class Job(BaseModel):
    job_id: int | None = Field(default=None, ge=1)
    status: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    create_time: int = Field(ge=0, le=2**53)
    exceptions: str | dict[str, Any] | None = None
    metrics: str | dict[str, Any] | None = None
    plan: str | dict[str, Any] | None = None


class Report(BaseModel):
    jobs: list[Job] = Field(min_length=1, max_length=100)
    message_id: str = Field(min_length=1, max_length=128)
    msg_confirm_topic: str | None = None


@app.post("/v1/<project_id>/edgesrv/job-report")
@tracer.capture_method
def job_report(project_id: str, report: Annotated[Report, Body()]) -> dict[str, Any]:
    with table.batch_writer() as batch:
        for job in report.jobs:
            pk = f"{project_id}#JOB#{job.job_id}"
            batch.put_item(
                Item={
                    "pk": pk,
                    "sk": f"STATUS#{job.create_time:016d}#{job.status}",
                    **job.model_dump(exclude_none=True),
                    "message_id": report.message_id,
                }
            )
    for job in report.jobs:
        if job.job_id is None:
            continue
        try:
            table.update_item(
                Key={"pk": f"{project_id}#JOB#{job.job_id}", "sk": "CURRENT"},
                UpdateExpression="SET #st = :st, create_time = :ct",
                ConditionExpression="attribute_not_exists(pk) OR create_time < :ct",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":st": job.status, ":ct": job.create_time},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    return {"is_success": True, "message": "The IEF Flink job status information is successfully reported."}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@idempotent(config=config, persistence_store=persistence)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)

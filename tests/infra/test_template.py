"""template.yaml: the linters, and what the contract and security model need from it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import pytest

from localapi.template import ROOT, LocalTemplate
from tests.support import EVENTS, TEMPLATE

RESOURCES: dict[str, Any] = TEMPLATE.resources


def of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False)


@pytest.mark.tools
def test_cfn_lint_is_clean(cfn_lint):
    result = run(cfn_lint, "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.tools
def test_sam_validate_lint_is_clean(sam):
    result = run(sam, "validate", "--lint", "--template", "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_route_is_post_with_iam_auth_and_payload_2():
    (api,) = of_type("AWS::Serverless::HttpApi").values()
    assert api["Properties"]["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    assert api["Properties"]["Auth"]["EnableIamAuthorizer"] is True
    throttling = api["Properties"]["DefaultRouteSettings"]
    assert throttling == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }
    (function,) = of_type("AWS::Serverless::Function").values()
    events = function["Properties"]["Events"]
    assert len(events) == 1, "one route only: no debug or documentation routes in the deployed API"
    (route,) = events.values()
    assert route["Type"] == "HttpApi"
    assert route["Properties"]["Method"] == "POST"
    assert route["Properties"]["Path"] == "/v1/{project_id}/edgesrv/job-report"
    assert route["Properties"]["Auth"]["Authorizer"] == "AWS_IAM"
    assert route["Properties"]["PayloadFormatVersion"] == "2.0"


def test_function_runtime_architecture_timeout_and_layer():
    function = TEMPLATE.function()
    globals_ = TEMPLATE.document["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert function.timeout_s < 30, "under HTTP API's 30-second integration limit"
    (layer,) = of_type("AWS::Serverless::LayerVersion").values()
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/dependencies/"
    assert (ROOT / function.code_dir / f"{function.module}.py").exists()


@pytest.mark.parametrize(("table", "keys"), [("JobStatusTable", ["pk", "sk"]), ("IdempotencyTable", ["pk"])])
def test_tables_are_on_demand_recoverable_encrypted_expiring_and_retained(table, keys):
    resource = RESOURCES[table]
    props = resource["Properties"]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    assert [k["AttributeName"] for k in props["KeySchema"]] == keys
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_status_index_is_sparse_and_keys_only():
    (index,) = RESOURCES["JobStatusTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["gsi1pk", "gsi1sk"]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def unwrap(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """A statement, or both branches of a conditional one (AWS::NoValue dropped)."""
    if "Fn::If" in statement:
        return [s for s in statement["Fn::If"][1:] if "Ref" not in s]
    return [statement]


def statements() -> list[dict[str, Any]]:
    found = []
    for resource in RESOURCES.values():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []):
            found += [s for st in policy["PolicyDocument"]["Statement"] for s in unwrap(st)]
        if "PolicyDocument" in props:
            found += props["PolicyDocument"]["Statement"]
    return found


def test_no_policy_grants_a_wildcard_action():
    for statement in statements():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement


def test_function_role_writes_only_the_two_tables():
    role = RESOURCES["JobReportFunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    (policy,) = role["Policies"]
    plain = [s for s in policy["PolicyDocument"]["Statement"] if "Fn::If" not in s]
    dynamodb = [s for s in plain if any("dynamodb:" in a for a in s["Action"])]
    assert {json.dumps(s["Resource"]) for s in dynamodb} == {
        json.dumps({"Fn::GetAtt": ["JobStatusTable", "Arn"]}),
        json.dumps({"Fn::GetAtt": ["IdempotencyTable", "Arn"]}),
    }
    actions = {a for s in dynamodb for a in s["Action"]}
    assert actions == {"dynamodb:BatchWriteItem", "dynamodb:UpdateItem"}
    wildcard = [s for s in plain if s["Resource"] == "*"]
    assert [a for s in wildcard for a in s["Action"]] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


def test_edge_policy_allows_only_the_route_of_the_callers_own_project():
    (policy,) = of_type("AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    resource = TEMPLATE.resolve(statement["Resource"])
    assert resource.endswith("/$default/POST/v1/${aws:PrincipalTag/project_id}/edgesrv/job-report")
    assert statement["Condition"] == {"Null": {"aws:PrincipalTag/project_id": "false"}}


def test_log_groups_are_explicit_with_retention_parameter():
    groups = of_type("AWS::Logs::LogGroup")
    assert set(groups) == {"JobReportLogGroup", "ApiAccessLogGroup"}
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    (function,) = of_type("AWS::Serverless::Function").values()
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "JobReportLogGroup"}


def test_api_access_log_is_json_with_request_route_status_latency_and_integration_error():
    (api,) = of_type("AWS::Serverless::HttpApi").values()
    settings = api["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(settings["Format"])
    for variable in ("requestId", "routeKey", "status", "responseLatency", "integrationErrorMessage"):
        assert any(value == f"$context.{variable}" for value in fields.values()), variable


def test_parameters_and_outputs():
    params = TEMPLATE.document["Parameters"]
    assert params["MaxJobsPerReport"]["Default"] == 100
    for name in (
        "Stage",
        "HistoryRetentionDays",
        "IdempotencyRetentionDays",
        "LogRetentionDays",
        "ThrottlingBurstLimit",
        "ThrottlingRateLimit",
    ):
        assert name in params
    assert set(TEMPLATE.document["Outputs"]) == {
        "ApiUrl",
        "JobStatusTableName",
        "IdempotencyTableName",
        "JobReportFunctionArn",
        "EdgeAgentPolicyArn",
        "DashboardUrl",
    }


def test_function_environment_resolves_locally_to_the_tables():
    environment = LocalTemplate.read(overrides={"MaxJobsPerReport": "7"}).function().environment
    assert environment["JOB_STATUS_TABLE"] == "JobStatusTable"
    assert environment["IDEMPOTENCY_TABLE"] == "IdempotencyTable"
    assert environment["MAX_JOBS_PER_REPORT"] == "7"


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_events_are_http_api_payload_2(path):
    event = json.loads(path.read_text())
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/{project_id}/edgesrv/job-report"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["stage"] == "$default"
    assert event["rawPath"] == f"/v1/{event['pathParameters']['project_id']}/edgesrv/job-report"
    assert isinstance(event["isBase64Encoded"], bool)


ALARMS = {
    "Api5xxRateAlarm": ("AWS/ApiGateway", "5xx", {"Ref": "Api5xxRatePercent"}),
    "Api4xxRateAlarm": ("AWS/ApiGateway", "4xx", {"Ref": "Api4xxRatePercent"}),
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", 0),
    "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", 0),
    "FunctionDurationAlarm": ("AWS/Lambda", "Duration", 20000),
    "DynamoDBThrottlesAlarm": ("AWS/DynamoDB", "WriteThrottleEvents", 0),
    "DynamoDBSystemErrorsAlarm": ("AWS/DynamoDB", "SystemErrors", 0),
    "NoReportsAlarm": ({"Ref": "MetricsNamespace"}, "ReportsAccepted", 1),
}


@pytest.mark.parametrize("name", ALARMS)
def test_each_alarm_watches_its_metric_with_its_threshold_and_is_documented(name):
    namespace, metric, threshold = ALARMS[name]
    props = RESOURCES[name]["Properties"]
    watched = [(props.get("Namespace"), props.get("MetricName"))] + [
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"])
        for m in props.get("Metrics", [])
        if "MetricStat" in m
    ]
    assert (namespace, metric) in watched
    assert props["Threshold"] == threshold
    assert "AlarmActions" in props
    anchor = props["AlarmDescription"].split("#")[-1].rstrip(")")
    assert f"## {anchor}" in (ROOT / "docs" / "operations.md").read_text().lower()


def test_duration_alarm_is_80_percent_of_the_timeout():
    assert RESOURCES["FunctionDurationAlarm"]["Properties"]["Threshold"] == TEMPLATE.function().timeout_s * 1000 * 0.8


def test_dashboard_shows_requests_latency_reports_faults_and_capacity():
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for needle in (
        "Count",
        "Latency",
        "ReportsAccepted",
        "JobsStored",
        "Replays",
        "Conflicts",
        "ConsumedWriteCapacityUnits",
        "DependencyFaults",
    ):
        assert needle in body
    json.loads(re.sub(r"\$\{[^}]+\}", "x", body))  # valid JSON once CloudFormation substitutes


def test_confirm_publish_is_off_by_default_and_scoped_to_the_prefix():
    assert TEMPLATE.document["Parameters"]["ConfirmTopicPublish"]["Default"] == "false"
    statements = RESOURCES["JobReportFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (conditional,) = [s for s in statements if "Fn::If" in s]
    condition, statement, _ = conditional["Fn::If"]
    assert condition == "PublishConfirmations"
    assert statement["Action"] == "iot:Publish"
    assert statement["Resource"]["Fn::Sub"].endswith(":topic/${ConfirmTopicPrefix}*")

"""template.yaml: the linters, and what the contract and security model need from it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import pytest

from devkit.template import ROOT, LocalTemplate
from jobstatus import layout
from tests.support import EVENTS, QUERY_FUNCTION, REPORT_FUNCTION, TEMPLATE

RESOURCES: dict[str, Any] = TEMPLATE.resources
# The contract's routes, and the function each belongs to.
CONTRACT_ROUTES = {
    "POST /v1/{project_id}/edgesrv/job-report": REPORT_FUNCTION,
    "GET /v1/{project_id}/edgesrv/job-report": QUERY_FUNCTION,
    "GET /v1/{project_id}/edgesrv/jobs": QUERY_FUNCTION,
    "GET /v1/{project_id}/edgesrv/jobs/{job_id}": QUERY_FUNCTION,
    "GET /v1/{project_id}/edgesrv/jobs/{job_id}/history": QUERY_FUNCTION,
    "GET /v1/{project_id}/edgesrv/job-summary": QUERY_FUNCTION,
}


def of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False)


# The report stack, and the stack deployed once per project (project.yaml, tests/infra/test_access.py).
TEMPLATES = ["template.yaml", "project.yaml"]


@pytest.mark.tools
@pytest.mark.parametrize("template", TEMPLATES)
def test_cfn_lint_is_clean(cfn_lint, template):
    result = run(cfn_lint, template)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.tools
@pytest.mark.parametrize("template", TEMPLATES)
def test_sam_validate_lint_is_clean(sam, template):
    result = run(sam, "validate", "--lint", "--template", template)
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_has_iam_auth_and_stage_throttling():
    (api,) = of_type("AWS::Serverless::HttpApi").values()
    assert api["Properties"]["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    assert api["Properties"]["Auth"]["EnableIamAuthorizer"] is True
    throttling = api["Properties"]["DefaultRouteSettings"]
    assert throttling == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }


def test_routes_are_exactly_the_contracts_each_iam_and_payload_2():
    # No debug or documentation routes in the deployed API: only the contract's.
    assert {route.route_key: route.function for route in TEMPLATE.routes()} == CONTRACT_ROUTES
    for function in of_type("AWS::Serverless::Function").values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                assert event["Properties"]["ApiId"] == {"Ref": "JobReportApi"}
                assert event["Properties"]["Auth"]["Authorizer"] == "AWS_IAM"
                assert event["Properties"]["PayloadFormatVersion"] == "2.0"


@pytest.mark.parametrize("name", sorted(TEMPLATE.functions()))
def test_function_runtime_architecture_timeout_and_code(name):
    function = TEMPLATE.function(name)
    globals_ = TEMPLATE.document["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    if name in CONTRACT_ROUTES.values():
        assert function.timeout_s < 30, "under HTTP API's 30-second integration limit"
    else:
        assert function.timeout_s <= 900, "Lambda's limit"
    resource = RESOURCES[name]
    assert resource["Properties"]["CodeUri"] == "functions/"
    assert resource["Properties"]["Layers"] == [{"Ref": "DependenciesLayer"}]
    assert resource["Metadata"]["BuildMethod"] == "makefile"
    assert (function.code_dir / (function.module.replace(".", "/") + ".py")).exists()


def test_layer_is_built_for_arm64_by_its_makefile():
    (layer,) = of_type("AWS::Serverless::LayerVersion").values()
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/dependencies/"


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


def test_indexes_are_sparse_and_project_nothing_a_heartbeat_changes():
    indexes = {i["IndexName"]: i for i in RESOURCES["JobStatusTable"]["Properties"]["GlobalSecondaryIndexes"]}
    assert set(indexes) == {layout.SILENCE_INDEX, layout.CATEGORY_INDEX}
    silence, category = indexes[layout.SILENCE_INDEX], indexes[layout.CATEGORY_INDEX]
    assert [k["AttributeName"] for k in silence["KeySchema"]] == ["gsi1pk", "gsi1sk"]
    assert silence["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert [k["AttributeName"] for k in category["KeySchema"]] == ["gsi2pk", "gsi2sk"]
    # status changes only with a status change; create_time, reported_at and message_id, which a
    # heartbeat changes, are not projected, so a heartbeat never writes the index.
    assert category["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]}


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
    # no other DynamoDB action than its calls (which tests/integration/test_iam_calls.py proves it makes)
    actions = {a for s in dynamodb for a in s["Action"]}
    assert actions == {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:UpdateItem"}
    wildcard = [s for s in plain if s["Resource"] == "*"]
    assert [a for s in wildcard for a in s["Action"]] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


def test_query_role_may_only_read():
    (policy,) = RESOURCES["JobQueryFunctionRole"]["Properties"]["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    granted = {(a, json.dumps(r)) for s in statements for a in _list(s["Action"]) for r in _list(s["Resource"])}
    table, index = {"Fn::GetAtt": ["JobStatusTable", "Arn"]}, {"Fn::Sub": "${JobStatusTable.Arn}/index/gsi2"}
    dynamodb = {(a, r) for a, r in granted if a.startswith("dynamodb:")}
    assert dynamodb == {
        (a, json.dumps(table)) for a in ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
    } | {
        ("dynamodb:Query", json.dumps(index)),
        ("dynamodb:GetItem", json.dumps({"Fn::GetAtt": ["IdempotencyTable", "Arn"]})),
    }
    assert ("secretsmanager:GetSecretValue", json.dumps({"Ref": "PageTokenSecret"})) in granted


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_log_groups_are_explicit_with_retention_parameter():
    groups = of_type("AWS::Logs::LogGroup")
    assert set(groups) == {
        "JobReportLogGroup",
        "JobQueryLogGroup",
        "JobEventsLogGroup",
        "SilenceSweepLogGroup",
        "FleetLogGroup",
        "ApiAccessLogGroup",
    }
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert RESOURCES[REPORT_FUNCTION]["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "JobReportLogGroup"}
    assert RESOURCES[QUERY_FUNCTION]["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "JobQueryLogGroup"}


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
        "JobQueryFunctionArn",
        "JobEventsFunctionArn",
        "SilenceSweepFunctionArn",
        "EventsDeadLetterQueueUrl",
        "EdgeAgentPolicyArn",
        "OperatorPolicyArn",
        "DashboardUrl",
    }
    silent = params["SilentAfterMinutes"]
    assert (silent["Default"], silent["MinValue"]) == (30, 0)
    # every function gets it from Globals, as SAM merges them
    assert TEMPLATE.document["Globals"]["Function"]["Environment"]["Variables"]["SILENT_AFTER_MINUTES"] == {
        "Ref": "SilentAfterMinutes"
    }
    for function in TEMPLATE.functions().values():
        assert function.environment["SILENT_AFTER_MINUTES"] == "30"
        assert "SILENT_AFTER_MINUTES" not in RESOURCES[function.logical_id]["Properties"]["Environment"]["Variables"]


def test_function_environment_resolves_locally_to_the_tables():
    environment = LocalTemplate.read(overrides={"MaxJobsPerReport": "7"}).function(REPORT_FUNCTION).environment
    assert environment["JOB_STATUS_TABLE"] == "JobStatusTable"
    assert environment["IDEMPOTENCY_TABLE"] == "IdempotencyTable"
    assert environment["MAX_JOBS_PER_REPORT"] == "7"


def test_events_are_organised_by_function_package():
    packages = {function.package for function in TEMPLATE.functions().values()}
    folders = {path.name for path in EVENTS.iterdir() if path.is_dir()}
    assert folders <= packages, f"events/ folders that name no function: {folders - packages}"
    assert not list(EVENTS.glob("*.json")), "every event lives in its function's folder"


HTTP_EVENTS = [
    (function, path)
    for function in TEMPLATE.functions().values()
    if function.routes
    for path in sorted((EVENTS / function.package).glob("*.json"))
]


@pytest.mark.parametrize(("function", "path"), HTTP_EVENTS, ids=lambda v: getattr(v, "name", ""))
def test_http_events_are_payload_2_for_one_of_their_functions_routes(function, path):
    event = json.loads(path.read_text())
    assert event["version"] == "2.0"
    routes = {route.route_key: route for route in function.routes}
    assert event["routeKey"] in routes, f"{path.name}: {event['routeKey']} is not a route of {function.logical_id}"
    route = routes[event["routeKey"]]
    assert event["requestContext"]["routeKey"] == route.route_key
    assert event["requestContext"]["http"]["method"] == route.method
    assert event["requestContext"]["stage"] == "$default"
    path_template = route.path
    for name, value in event["pathParameters"].items():
        path_template = path_template.replace("{" + name + "}", value)
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == path_template
    assert isinstance(event["isBase64Encoded"], bool)


ALARMS = {
    "Api5xxRateAlarm": ("AWS/ApiGateway", "5xx", {"Ref": "Api5xxRatePercent"}),
    "Api4xxRateAlarm": ("AWS/ApiGateway", "4xx", {"Ref": "Api4xxRatePercent"}),
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", 0),
    "QueryFunctionErrorsAlarm": ("AWS/Lambda", "Errors", 0),
    "EventsFunctionErrorsAlarm": ("AWS/Lambda", "Errors", 0),
    "SweepErrorsAlarm": ("AWS/Lambda", "Errors", 0),
    "EventsIteratorAgeAlarm": ("AWS/Lambda", "IteratorAge", 120000),
    "EventsDeadLetterAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", 0),
    "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", 0),
    "FunctionDurationAlarm": ("AWS/Lambda", "Duration", 20000),
    "DynamoDBThrottlesAlarm": ("AWS/DynamoDB", "WriteThrottleEvents", 0),
    "DynamoDBSystemErrorsAlarm": ("AWS/DynamoDB", "SystemErrors", 0),
    "NoReportsAlarm": ({"Ref": "MetricsNamespace"}, "ReportsAccepted", 1),
    "SummaryDriftAlarm": ({"Ref": "MetricsNamespace"}, "SummaryDrift", 0),
    "FleetErrorsAlarm": ("AWS/Lambda", "Errors", 0),
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
    timeout_s = TEMPLATE.function(REPORT_FUNCTION).timeout_s
    assert RESOURCES["FunctionDurationAlarm"]["Properties"]["Threshold"] == timeout_s * 1000 * 0.8


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

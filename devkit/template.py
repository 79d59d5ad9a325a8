"""The template model: what the local stack, the tests and the bench learn from template.yaml, its one source of truth.

Every function with its triggers (HttpApi routes, a DynamoDB stream's event source mapping, a
schedule), Globals merged in as SAM merges them, every table, queue and secret, and the Parameters;
intrinsics resolved with CloudFormation's return values. A small reader is written here rather than
taken from cfn-lint or samtranslator: those pin boto3 and pydantic versions that clash with the
runtime's, so they live in isolated tool environments (see the Makefile) and cannot be imported next
to the functions (the IAM tests run samtranslator there, tests/iam/translate.py).
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")
_NO_VALUE = object()  # what Ref AWS::NoValue resolves to: the item or key is dropped


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


def merge_globals(defaults: Any, own: Any) -> Any:
    """A resource's properties with the template's Globals, as SAM merges them: maps key by key (the
    resource's value wins), lists one after the other, anything else the resource's.
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html
    """
    if isinstance(defaults, dict) and isinstance(own, dict):
        return {
            key: merge_globals(defaults[key], own[key])
            if key in defaults and key in own
            else own.get(key, defaults.get(key))
            for key in {**defaults, **own}
        }
    if isinstance(defaults, list) and isinstance(own, list):
        return defaults + own
    return own


def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        document: dict[str, Any] = yaml.load(fh, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass(frozen=True)
class HttpRoute:
    """An HttpApi event: `method` `path` (e.g. POST /v1/{project_id}/edgesrv/job-report) -> `function`."""

    function: str
    method: str
    path: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class StreamTrigger:
    """A DynamoDB event: the function consumes `table`'s stream, as its event source mapping says."""

    function: str
    table: str  # the table's logical id
    starting_position: str
    batch_size: int
    batching_window_s: float
    filters: tuple[str, ...]  # event patterns; a record must match one (none: every record)
    bisect_on_error: bool
    max_retries: int  # -1: until the record expires
    max_record_age_s: int  # -1: the stream's retention
    report_item_failures: bool
    on_failure: str | None  # the logical id of the on-failure queue


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduleTrigger:
    """A Schedule or ScheduleV2 event: the function runs at `expression`'s rate."""

    function: str
    name: str
    expression: str
    input: str | None = None  # the event the schedule sends (Input); None: EventBridge Scheduler's default

    @property
    def every_s(self) -> float:
        found = _RATE.match(self.expression)
        if not found:
            raise ValueError(f"{self.function}: only rate(...) schedules run locally, not {self.expression!r}")
        return int(found.group(1)) * _UNIT_S[found.group(2).rstrip("s")]


@dataclass
class Function:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int
    routes: list[HttpRoute] = field(default_factory=list)
    streams: list[StreamTrigger] = field(default_factory=list)
    schedules: list[ScheduleTrigger] = field(default_factory=list)

    @property
    def package(self) -> str:
        """The function's own package under code_dir (`report` for `report.handler.lambda_handler`)."""
        return self.module.split(".", 1)[0]

    @property
    def lambda_environment(self) -> dict[str, str]:
        """Its environment as a Lambda execution environment of one process gives it: the template's,
        and what Lambda sets besides that the functions read at init (jobstatus.coldstart)."""
        return self.environment | {
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
        }


@dataclass
class LocalTemplate:
    document: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    path: Path = TEMPLATE_PATH
    stack_name: str = "local"

    @classmethod
    def read(
        cls, path: Path = TEMPLATE_PATH, overrides: dict[str, str] | None = None, *, stack_name: str = "local"
    ) -> LocalTemplate:
        return cls.of(load(path), overrides, path=path, stack_name=stack_name)

    @classmethod
    def of(
        cls,
        document: dict[str, Any],
        overrides: dict[str, str] | None = None,
        *,
        path: Path = TEMPLATE_PATH,
        stack_name: str = "local",
    ) -> LocalTemplate:
        """A template document (as loaded, or as SAM translated it), its Parameters' defaults overridden."""
        declared = document.get("Parameters", {})
        unknown = sorted(set(overrides or {}) - set(declared))
        if unknown:
            raise ValueError(f"unknown template parameter(s): {', '.join(unknown)}")
        parameters = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        parameters.update(overrides or {})
        return cls(document, parameters, path, stack_name)

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.document["Resources"])

    def of_type(self, kind: str) -> dict[str, Any]:
        return {name: r for name, r in self.resources.items() if r["Type"] == kind}

    def tables(self) -> dict[str, dict[str, Any]]:
        """Logical id -> the table's properties, for every AWS::DynamoDB::Table."""
        return {name: resource["Properties"] for name, resource in self.of_type("AWS::DynamoDB::Table").items()}

    def table_name(self, logical_id: str) -> str:
        """Locally a table is named by its logical id (CloudFormation generates the deployed name)."""
        return logical_id

    def queues(self) -> list[str]:
        """The logical ids of the AWS::SQS::Queue resources the local stack creates (named by them)."""
        return [name for name, r in self.of_type("AWS::SQS::Queue").items() if self._exists(r)]

    def _exists(self, resource: dict[str, Any]) -> bool:
        return "Condition" not in resource or self.condition(resource["Condition"])

    def functions(self) -> dict[str, Function]:
        """Every AWS::Serverless::Function, with Globals applied and its environment resolved locally."""
        return {name: self._function(name, r) for name, r in self.of_type("AWS::Serverless::Function").items()}

    def function(self, logical_id: str) -> Function:
        functions = self.functions()
        if logical_id not in functions:
            raise KeyError(f"template.yaml declares no function {logical_id!r} (it has: {', '.join(functions)})")
        return functions[logical_id]

    def routes(self) -> list[HttpRoute]:
        """Every HttpApi route of every function: the HTTP API's route table."""
        return [route for function in self.functions().values() for route in function.routes]

    def _function(self, name: str, resource: dict[str, Any]) -> Function:
        props = merge_globals(self.document.get("Globals", {}).get("Function", {}), resource["Properties"])
        module, handler = props["Handler"].rsplit(".", 1)
        variables = props.get("Environment", {}).get("Variables", {})
        events = props.get("Events", {})
        routes = [
            HttpRoute(function=name, method=event["Properties"]["Method"].upper(), path=event["Properties"]["Path"])
            for event in events.values()
            if event["Type"] == "HttpApi"
        ]
        streams = [self._stream(name, e["Properties"]) for e in events.values() if e["Type"] == "DynamoDB"]
        schedules = [
            ScheduleTrigger(
                function=name,
                name=event_name,
                expression=str(self.resolve(e["Properties"]["ScheduleExpression"])),
                input=e["Properties"].get("Input"),
            )
            for event_name, e in events.items()
            if e["Type"] in ("Schedule", "ScheduleV2") and e["Properties"].get("State", "ENABLED") == "ENABLED"
        ]
        return Function(
            logical_id=name,
            code_dir=(self.path.parent / props["CodeUri"]).resolve(),
            module=module,
            handler=handler,
            environment={k: str(self.resolve(v)) for k, v in variables.items()},
            timeout_s=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            routes=routes,
            streams=streams,
            schedules=schedules,
        )

    def _stream(self, function: str, props: dict[str, Any]) -> StreamTrigger:
        table, attribute = props["Stream"]["Fn::GetAtt"]
        if attribute != "StreamArn":
            raise ValueError(f"{function}: a stream is !GetAtt <table>.StreamArn locally")
        on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        return StreamTrigger(
            function=function,
            table=table,
            starting_position=props.get("StartingPosition", "LATEST"),
            batch_size=int(props.get("BatchSize", 100)),
            batching_window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            filters=tuple(f["Pattern"] for f in props.get("FilterCriteria", {}).get("Filters", [])),
            bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
            max_retries=int(props.get("MaximumRetryAttempts", -1)),
            max_record_age_s=int(props.get("MaximumRecordAgeInSeconds", -1)),
            report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            on_failure=on_failure["Fn::GetAtt"][0] if isinstance(on_failure, dict) else None,
        )

    def streams(self) -> list[StreamTrigger]:
        return [stream for function in self.functions().values() for stream in function.streams]

    def schedules(self) -> list[ScheduleTrigger]:
        return [schedule for function in self.functions().values() for schedule in function.schedules]

    def create_tables(self, client: Any) -> list[str]:
        """Create every table of the template through a DynamoDB client (moto, locally)."""
        names = []
        for request in self.create_table_requests():
            client.create_table(**request["table"])
            name = request["table"]["TableName"]
            if request["ttl"]:
                client.update_time_to_live(TableName=name, TimeToLiveSpecification=request["ttl"])
            names.append(name)
        return names

    def secrets(self) -> dict[str, dict[str, Any]]:
        """Logical id -> the secret's properties, for every AWS::SecretsManager::Secret."""
        return {name: r.get("Properties", {}) for name, r in self.of_type("AWS::SecretsManager::Secret").items()}

    def create_secrets(self, client: Any) -> list[str]:
        """Create every secret of the template through a Secrets Manager client (moto, locally), named by
        its logical id (what `Ref` resolves to here), its value generated as GenerateSecretString asks."""
        names = []
        for logical_id, props in self.secrets().items():
            value = props.get("SecretString")
            if value is None:
                length = int(props.get("GenerateSecretString", {}).get("PasswordLength", 32))
                value = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))
            client.create_secret(Name=logical_id, SecretString=value)
            names.append(logical_id)
        return names

    def create_table_requests(self) -> list[dict[str, Any]]:
        """CreateTable arguments (plus TTL) built from the template's table definitions."""
        requests = []
        for logical_id, props in self.tables().items():
            request: dict[str, Any] = {
                "TableName": self.table_name(logical_id),
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": props.get("BillingMode", "PROVISIONED"),
            }
            if "GlobalSecondaryIndexes" in props:
                request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            if props.get("SSESpecification", {}).get("SSEEnabled"):
                request["SSESpecification"] = {"Enabled": True}
            if "StreamSpecification" in props:
                view = props["StreamSpecification"]["StreamViewType"]
                request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
            ttl = props.get("TimeToLiveSpecification")
            requests.append({"table": request, "ttl": ttl})
        return requests

    def resolve(self, value: Any) -> Any:
        """A value with its intrinsic functions resolved as CloudFormation would, every physical name
        being the logical id (as the local stack names tables, queues and secrets); `AWS::NoValue`
        drops the list item or the key it stands in."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref")):
            resolved = {key: self.resolve(v) for key, v in value.items()}
            return {key: v for key, v in resolved.items() if v is not _NO_VALUE}
        ((function, argument),) = value.items()
        if function == "Ref":
            return _NO_VALUE if argument == "AWS::NoValue" else self._ref(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self._get_att(logical_id, attribute)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return _SUB.sub(lambda m: str(self._sub(m.group(1), variables)), text).replace("${!", "${")
        if function == "Fn::If":
            condition, yes, no = argument
            return self.resolve(yes if self.condition(condition) else no)
        if function == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(items))
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        raise ValueError(f"intrinsic not supported locally: {value}")

    def _sub(self, name: str, variables: dict[str, Any]) -> Any:
        if name in variables:
            return self.resolve(variables[name])
        if "." in name and name.split(".", 1)[0] in self.resources:
            return self._get_att(*name.split(".", 1))
        return self._ref(name)

    def condition(self, name: str) -> bool:
        return self._holds(self.document["Conditions"][name])

    def _holds(self, spec: dict[str, Any]) -> bool:
        if "Condition" in spec:
            return self.condition(spec["Condition"])
        if "Fn::Equals" in spec:
            left, right = (self.resolve(v) for v in spec["Fn::Equals"])
            return str(left) == str(right)
        if "Fn::Not" in spec:
            return not self._holds(spec["Fn::Not"][0])
        if "Fn::And" in spec:
            return all(self._holds(s) for s in spec["Fn::And"])
        if "Fn::Or" in spec:
            return any(self._holds(s) for s in spec["Fn::Or"])
        raise ValueError(f"condition not supported locally: {spec}")

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": LOCAL_REGION,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name not in self.resources:
            raise ValueError(f"unknown reference {name}")
        kind, props = self.resources[name]["Type"], self.resources[name].get("Properties", {})
        region, account = LOCAL_REGION, LOCAL_ACCOUNT
        refs: dict[
            str, Callable[[], Any]
        ] = {  # what Ref returns, by resource type (CloudFormation's "Return values"); else the name
            "AWS::SecretsManager::Secret": lambda: f"arn:aws:secretsmanager:{region}:{account}:secret:{name}",
            "AWS::SQS::Queue": lambda: f"https://sqs.{region}.amazonaws.com/{account}/{name}",
            "AWS::SNS::Topic": lambda: f"arn:aws:sns:{region}:{account}:{name}",
            "AWS::IAM::ManagedPolicy": lambda: f"arn:aws:iam::{account}:policy/{name}",
            "AWS::Logs::LogGroup": lambda: self.resolve(props.get("LogGroupName", name)),
            "AWS::IoT::RoleAlias": lambda: self.resolve(props.get("RoleAlias", name)),
            "AWS::IoT::Policy": lambda: self.resolve(props.get("PolicyName", name)),
        }
        return refs[kind]() if kind in refs else name

    def _get_att(self, name: str, attribute: str) -> str:
        """What Fn::GetAtt returns, for the attributes templates here use; any other is refused."""
        if name not in self.resources:
            raise ValueError(f"unknown resource {name}")
        kind = self.resources[name]["Type"]
        region, account, ref = LOCAL_REGION, LOCAL_ACCOUNT, self._ref(name)
        table = f"arn:aws:dynamodb:{region}:{account}:table/{ref}"
        attributes = {
            ("AWS::DynamoDB::Table", "Arn"): table,
            ("AWS::DynamoDB::Table", "StreamArn"): f"{table}/stream/1970-01-01T00:00:00.000",
            ("AWS::SQS::Queue", "Arn"): f"arn:aws:sqs:{region}:{account}:{name}",
            ("AWS::SQS::Queue", "QueueName"): name,
            ("AWS::Lambda::Function", "Arn"): f"arn:aws:lambda:{region}:{account}:function:{ref}",
            ("AWS::Serverless::Function", "Arn"): f"arn:aws:lambda:{region}:{account}:function:{ref}",
            ("AWS::IAM::Role", "Arn"): f"arn:aws:iam::{account}:role/{ref}",
            ("AWS::Logs::LogGroup", "Arn"): f"arn:aws:logs:{region}:{account}:log-group:{ref}:*",
            ("AWS::IoT::RoleAlias", "RoleAliasArn"): f"arn:aws:iot:{region}:{account}:rolealias/{ref}",
            ("AWS::IoT::Policy", "Arn"): f"arn:aws:iot:{region}:{account}:policy/{ref}",
            ("AWS::Events::Rule", "Arn"): f"arn:aws:events:{region}:{account}:rule/{ref}",
            ("AWS::SNS::Topic", "TopicArn"): ref,
        }
        if (kind, attribute) not in attributes:
            raise ValueError(f"Fn::GetAtt {name}.{attribute} ({kind}) is not supported locally")
        return str(attributes[(kind, attribute)])

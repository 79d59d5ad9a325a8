"""Read what the local API needs from template.yaml, so the template stays the one source of truth.

A small reader is written here rather than taken from cfn-lint or samtranslator: those pin
boto3 and pydantic versions that clash with the runtime's, so they live in isolated tool
environments (see the Makefile) and cannot be imported next to the function. This reader
understands the short-form intrinsics and resolves the few (Ref, Sub, If, Equals, GetAtt) that
the function's environment and the tables use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


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


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        document: dict[str, Any] = yaml.load(fh, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass
class Function:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int
    method: str
    path: str  # the route, e.g. /v1/{project_id}/edgesrv/job-report


@dataclass
class LocalTemplate:
    document: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path = TEMPLATE, overrides: dict[str, str] | None = None) -> LocalTemplate:
        document = load(path)
        parameters = {name: str(spec.get("Default", "")) for name, spec in document.get("Parameters", {}).items()}
        parameters.update(overrides or {})
        return cls(document, parameters)

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.document["Resources"])

    def tables(self) -> dict[str, dict[str, Any]]:
        """Logical id -> the table's properties, for every AWS::DynamoDB::Table."""
        return {
            name: resource["Properties"]
            for name, resource in self.resources.items()
            if resource["Type"] == "AWS::DynamoDB::Table"
        }

    def table_name(self, logical_id: str) -> str:
        """Locally a table is named by its logical id (CloudFormation generates the deployed name)."""
        return logical_id

    def function(self) -> Function:
        functions = [(name, r) for name, r in self.resources.items() if r["Type"] == "AWS::Serverless::Function"]
        if len(functions) != 1:
            raise ValueError("the local API serves exactly one function")
        name, resource = functions[0]
        props = {**self.document.get("Globals", {}).get("Function", {}), **resource["Properties"]}
        module, handler = props["Handler"].rsplit(".", 1)
        variables = props.get("Environment", {}).get("Variables", {})
        routes = [e["Properties"] for e in props.get("Events", {}).values() if e["Type"] == "HttpApi"]
        if len(routes) != 1:
            raise ValueError("the local API serves exactly one HttpApi route")
        return Function(
            logical_id=name,
            code_dir=ROOT / props["CodeUri"],
            module=module,
            handler=handler,
            environment={k: str(self.resolve(v)) for k, v in variables.items()},
            timeout_s=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            method=routes[0]["Method"].upper(),
            path=routes[0]["Path"],
        )

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
            ttl = props.get("TimeToLiveSpecification")
            requests.append({"table": request, "ttl": ttl})
        return requests

    def resolve(self, value: Any) -> Any:
        """Resolve the intrinsics the function's environment uses, against local values."""
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            text = _SUB.sub(lambda m: str(self._ref(m.group(1))), text)
            return text.replace("${!", "${")
        if "Fn::If" in value:
            condition, yes, no = value["Fn::If"]
            return self.resolve(yes if self.condition(condition) else no)
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return f"arn:aws:local:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{logical_id}/{attribute}"
        raise ValueError(f"intrinsic not supported locally: {value}")

    def condition(self, name: str) -> bool:
        spec = self.document["Conditions"][name]
        if "Fn::Equals" in spec:
            left, right = (self.resolve(v) for v in spec["Fn::Equals"])
            return str(left) == str(right)
        raise ValueError(f"condition not supported locally: {spec}")

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": LOCAL_REGION,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::StackName": "local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.tables():
            return self.table_name(name)
        if name in self.resources:
            return name
        raise ValueError(f"unknown reference {name}")

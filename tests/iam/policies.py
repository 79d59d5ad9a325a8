"""The roles and policies of a template as deployed, and the engine that evaluates requests against them.

`translated()` runs aws-sam-translator (tests/iam/translate.py, in the SAM tool environment) and
`LocalTemplate` resolves every intrinsic with CloudFormation's return values, each physical name the
logical id, as tests/iam/calls.py names the resources a recorded call reached. `simulate()` sends
every request of a test run to one process of the engine (tests/iam/simulate.mjs).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devkit.template import LOCAL_ACCOUNT, LOCAL_REGION, ROOT, TEMPLATE_PATH, LocalTemplate
from tests.iam.calls import Call

HERE = Path(__file__).resolve().parent
Policy = dict[str, Any]
# Where `make tools` installs the engine (package.json and package-lock.json pin it) beside its script.
ENGINE = Path(os.environ.get("IAM_SIMULATE") or ROOT / ".tools" / "iam-simulate" / "simulate.mjs")
SAM_PYTHON = Path(os.environ.get("SAM_CLI") or ROOT / ".tools" / "sam" / "bin" / "sam").parent / "python"


def _tool(path: Path, what: str) -> Path:
    if not path.exists():
        if os.environ.get("REQUIRE_TOOLS") == "1":
            pytest.fail(f"{what} is missing: run `make tools`")
        pytest.skip(f"{what} is not installed (`make tools`)")
    return path


def translated(template: Path) -> dict[str, Any]:
    """The template as CloudFormation would get it from `sam deploy`, kept per content in .tools/."""
    text = template.read_bytes()
    cache = ROOT / ".tools" / "iam-simulate" / f"translated-{hashlib.sha256(text).hexdigest()[:16]}.json"
    if not cache.exists():
        python = _tool(SAM_PYTHON, "the SAM tool environment (aws-sam-translator)")
        result = subprocess.run(
            [str(python), str(HERE / "translate.py"), str(template)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(result.stdout)
        partial.replace(cache)  # workers may translate at once: each rename is whole
    return dict(json.loads(cache.read_text()))


@dataclass
class Role:
    """An IAM role (or a principal like one): its ARN, identity policies and tags."""

    name: str
    policies: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "policy"}]
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{LOCAL_ACCOUNT}:role/{self.name}"

    @property
    def context(self) -> dict[str, str]:
        """The request context IAM gives its sessions: a role's tags are its sessions' principal tags."""
        return {f"aws:PrincipalTag/{key}": value for key, value in self.tags.items()}

    def without(self, sid: str) -> Role:
        """This role with the statement `sid` deleted from whichever policy holds it."""
        policies = []
        for entry in self.policies:
            statements = [
                s for index, s in enumerate(entry["policy"]["Statement"], start=1) if s.get("Sid", str(index)) != sid
            ]
            policies.append({"name": entry["name"], "policy": {**entry["policy"], "Statement": statements}})
        return Role(self.name, policies, dict(self.tags))

    def statements(self) -> list[tuple[str, dict[str, Any]]]:
        """(policy name, statement) of every statement, each with a Sid (a generated one if it has none)."""
        found = []
        for entry in self.policies:
            for index, statement in enumerate(entry["policy"]["Statement"], start=1):
                found.append((entry["name"], {"Sid": str(index), **statement}))
        return found


def roles(template: LocalTemplate, managed: dict[str, Policy] | None = None) -> dict[str, Role]:
    """Every AWS::IAM::Role of a (translated) template, resolved, with its inline and managed policies.

    A managed policy is one of the template's own AWS::IAM::ManagedPolicy, or one of `managed` (by
    ARN, for a template that takes them as Parameters); any other is refused.
    """
    own = {
        template.resolve({"Ref": name}): template.resolve(resource["Properties"]["PolicyDocument"])
        for name, resource in template.of_type("AWS::IAM::ManagedPolicy").items()
    }
    known = own | (managed or {})
    found = {}
    for name, resource in template.of_type("AWS::IAM::Role").items():
        if "Condition" in resource and not template.condition(resource["Condition"]):
            continue
        properties = template.resolve(resource["Properties"])
        policies = [{"name": p["PolicyName"], "policy": p["PolicyDocument"]} for p in properties.get("Policies", [])]
        for arn in properties.get("ManagedPolicyArns", []):
            if arn not in known:
                raise ValueError(f"{name}: managed policy {arn} is not in the template")
            policies.append({"name": arn.rsplit("/", 1)[-1], "policy": known[arn]})
        tags = {tag["Key"]: tag["Value"] for tag in properties.get("Tags", [])}
        found[name] = Role(name, policies, tags)
    return found


def function_roles(template: LocalTemplate) -> dict[str, str]:
    """Function logical id -> the logical id of its execution role (translated template)."""
    return {
        name: resource["Properties"]["Role"]["Fn::GetAtt"][0]
        for name, resource in template.of_type("AWS::Lambda::Function").items()
    }


@dataclass(frozen=True)
class Need:
    """A request the platform makes with a role on a function's behalf, which no code call shows."""

    role: str
    action: str
    resource: str
    why: str


def platform_needs(template: LocalTemplate) -> list[Need]:
    """What Lambda, its event source mappings and EventBridge Scheduler do with the template's roles."""
    needs: list[Need] = []
    roles_of = function_roles(template)
    region, account = LOCAL_REGION, LOCAL_ACCOUNT
    for function, resource in template.of_type("AWS::Lambda::Function").items():
        properties, role = template.resolve(resource["Properties"]), roles_of[function]
        group = properties.get("LoggingConfig", {}).get("LogGroup", f"/aws/lambda/{function}")
        stream = f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:2026/12/05/[$LATEST]0123456789abcdef"
        needs += [Need(role, f"logs:{a}", stream, "its log group") for a in ("CreateLogStream", "PutLogEvents")]
        if properties.get("TracingConfig", {}).get("Mode") == "Active":
            needs += [Need(role, f"xray:{a}", "*", "tracing") for a in ("PutTraceSegments", "PutTelemetryRecords")]
    for resource in template.of_type("AWS::Lambda::EventSourceMapping").values():
        properties = template.resolve(resource["Properties"])
        role, source = roles_of[resource["Properties"]["FunctionName"]["Ref"]], properties["EventSourceArn"]
        if ":dynamodb:" in source:
            why = "the stream's event source mapping"
            needs += [
                Need(role, f"dynamodb:{a}", source, why) for a in ("DescribeStream", "GetRecords", "GetShardIterator")
            ]
            needs.append(Need(role, "dynamodb:ListStreams", "*", why))
        destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            service = destination.split(":")[2]
            action = {"sqs": "sqs:SendMessage", "sns": "sns:Publish"}[service]
            needs.append(Need(role, action, destination, "the mapping's on-failure destination"))
    for resource in template.of_type("AWS::Scheduler::Schedule").values():
        target = resource["Properties"]["Target"]
        role = target["RoleArn"]["Fn::GetAtt"][0]
        needs.append(Need(role, "lambda:InvokeFunction", template.resolve(target["Arn"]), "the schedule"))
    return needs


def simulate(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every case (id, principal, policies, action, resource, context, mode) in one run of the engine."""
    engine = _tool(ENGINE, "the IAM policy engine (@cloud-copilot/iam-simulate)")
    if not cases:
        return []
    result = subprocess.run(
        ["node", str(engine)], input=json.dumps(cases), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    decisions: list[dict[str, Any]] = json.loads(result.stdout)
    errors = [d for d in decisions if d["decision"] == "Error" or d["ignoredContextKeys"]]
    assert not errors, errors  # a request the engine cannot evaluate as given proves nothing
    return decisions


def case(role: Role, action: str, resource: str, *, id_: str = "", mode: str = "strict") -> dict[str, Any]:
    return {
        "id": id_ or f"{role.name} {action} {resource}",
        "principal": role.arn,
        "policies": role.policies,
        "action": action,
        "resource": resource,
        "context": role.context,
        "mode": mode,
    }


def deployed(**parameters: str) -> LocalTemplate:
    """template.yaml as SAM translates it, with these Parameters (ConfirmTopicPublish on by default:
    the evaluation covers the conditional grants too)."""
    return LocalTemplate.of(translated(TEMPLATE_PATH), {"ConfirmTopicPublish": "true", **parameters})


@dataclass
class Verdict:
    """What the engine said of a run's calls and the platform's needs, role by role."""

    denied: list[str]  # "JobQueryFunction: dynamodb:Query on arn:..."
    unused: list[str]  # "JobQueryFunctionRole JobStatusReads: dynamodb:BatchGetItem" (granted, never needed)


def requests(calls: set[Call], template: LocalTemplate, roles_: dict[str, Role]) -> list[dict[str, Any]]:
    """The engine's cases: every recorded call against its function's role, every platform need
    against its role."""
    owner = function_roles(template)
    cases = [case(roles_[owner[f]], a, r, id_=f"{f}: {a} on {r}") for f, a, r in sorted(calls)]
    cases += [
        case(roles_[n.role], n.action, n.resource, id_=f"{n.role} ({n.why}): {n.action} on {n.resource}")
        for n in platform_needs(template)
    ]
    return cases


def evaluate(calls: set[Call], template: LocalTemplate, roles_: dict[str, Role] | None = None) -> Verdict:
    """The engine's decision on every call and need; then every (statement, action) of those roles that
    no allowed request used."""
    roles_ = roles_ if roles_ is not None else roles(template)
    cases = requests(calls, template, roles_)
    decisions = simulate(cases)
    denied = [d["id"] for d in decisions if d["decision"] != "Allowed"]
    used = {
        (c["principal"], m["sid"], c["action"])
        for c, d in zip(cases, decisions, strict=True)
        if d["decision"] == "Allowed"
        for m in d["matched"]
    }
    evaluated = sorted({name for name, role in roles_.items() if role.arn in {c["principal"] for c in cases}})
    unused = [
        f"{name} {statement['Sid']}: {action}"
        for name in evaluated
        for _, statement in roles_[name].statements()
        if statement["Effect"] == "Allow"
        for action in _list(statement["Action"])
        if (roles_[name].arn, statement["Sid"], action) not in used
    ]
    return Verdict(denied, unused)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

"""Who may call which route, and who may get which credentials, evaluated by an IAM policy engine.

The principals are those a project stack creates (project.yaml, one per project): project P's
edge-agent role and operator role, each tagged project_id=P with the report stack's managed policy
attached; and a principal holding both managed policies without the tag. Each asks for every route
of template.yaml, for P and for another project Q, and for paths a route does not have (a trailing
slash, an extra segment, an empty job id). The IoT policy of P's devices asks for P's and Q's role
alias and confirmation topics. The contract: an agent may POST its project's reports, look them up
and read one job; an operator may call every GET route of its project; nobody reaches another
project; an untagged principal reaches nothing.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from devkit.template import ROOT, LocalTemplate
from tests.iam.policies import Role, case, deployed, roles, simulate
from tests.support import TEMPLATE

P, Q = "48cc2c48765f481480c7db940d6409d1", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
PROJECT_TEMPLATE = ROOT / "project.yaml"
AGENT_ROUTES = {
    "POST /v1/{project_id}/edgesrv/job-report",
    "GET /v1/{project_id}/edgesrv/job-report",
    "GET /v1/{project_id}/edgesrv/jobs/{job_id}",
}
API = "arn:aws:execute-api:us-east-1:123456789012:JobReportApi/$default"


def project_stack(project: str, **parameters: str) -> LocalTemplate:
    """project.yaml as deployed for a project, beside the report stack whose outputs it takes."""
    report = deployed()
    return LocalTemplate.read(
        PROJECT_TEMPLATE,
        {
            "ProjectId": project,
            "EdgeAgentPolicyArn": report.resolve({"Ref": "EdgeAgentInvokePolicy"}),
            "OperatorPolicyArn": report.resolve({"Ref": "OperatorReadPolicy"}),
            "ApiUrl": "https://JobReportApi.execute-api.us-east-1.amazonaws.com/",
            "OperatorPrincipalArn": "arn:aws:iam::123456789012:root",
            **parameters,
        },
        stack_name=f"edge-project-{project}",
    )


def principals() -> dict[str, Role]:
    report = deployed()
    managed = {
        report.resolve({"Ref": name}): report.resolve(resource["Properties"]["PolicyDocument"])
        for name, resource in report.of_type("AWS::IAM::ManagedPolicy").items()
    }
    project = roles(project_stack(P), managed)
    untagged = Role("untagged", project["AgentRole"].policies + project["OperatorRole"].policies)
    return {"agent": project["AgentRole"], "operator": project["OperatorRole"], "untagged": untagged}


def paths(route_key: str, project: str) -> list[tuple[str, str]]:
    """(method, path) of a route for a project, then of the paths around it that no route has."""
    method, path = route_key.split(" ", 1)
    path = path.replace("{project_id}", project).replace("{job_id}", "99270")
    around = [path + "/", path + "/extra"]
    if path.endswith("/jobs/99270"):
        around.append(path.removesuffix("99270"))  # jobs/ : an empty job_id
    return [(method, path)] + [(method, p) for p in around]


def routed(method: str, path: str) -> str | None:
    """The route API Gateway gives this request ({name} is one non-empty path segment), or None."""
    for route in TEMPLATE.routes():
        pattern = re.escape(route.path).replace(r"\{", "{").replace(r"\}", "}")
        if route.method == method and re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", pattern), path):
            return route.route_key
    return None


def expected(principal: str, project: str, method: str, path: str) -> bool:
    if project != P or principal == "untagged":
        return False
    if principal == "agent":
        return routed(method, path) in AGENT_ROUTES
    # An operator may GET anything of its project's: a path no route has is API Gateway's 404.
    return method == "GET"


@pytest.fixture(scope="module")
def matrix() -> list[tuple[dict[str, Any], bool]]:
    """Every principal x every route (and the paths around it) x both projects, decided by the engine."""
    found = principals()
    asked = []
    for (name, role), route, project in itertools.product(found.items(), TEMPLATE.routes(), (P, Q)):
        for method, path in paths(route.route_key, project):
            resource = f"{API}/{method}{path}"
            item = case(role, "execute-api:Invoke", resource, id_=f"{name} {method} {path}")
            asked.append((item, expected(name, project, method, path)))
    decisions = simulate([item for item, _ in asked])
    return [(item | {"decision": d["decision"]}, want) for (item, want), d in zip(asked, decisions, strict=True)]


def test_each_principal_reaches_exactly_the_routes_the_contract_gives_it(matrix):
    wrong = [(item["id"], item["decision"]) for item, want in matrix if (item["decision"] == "Allowed") is not want]
    assert wrong == []
    allowed = {item["id"] for item, _ in matrix if item["decision"] == "Allowed"}
    assert f"agent POST /v1/{P}/edgesrv/job-report" in allowed
    assert f"operator GET /v1/{P}/edgesrv/jobs/99270/history" in allowed
    assert not any(name.startswith("untagged") for name in allowed)
    assert len(matrix) >= 3 * len(TEMPLATE.routes()) * 2 * 3


def test_the_agents_deny_on_history_is_what_keeps_them_out_of_it():
    agent = principals()["agent"]
    without = agent.without("NoHistoryForAgents")
    history = f"{API}/GET/v1/{P}/edgesrv/jobs/99270/history"
    decisions = simulate([case(role, "execute-api:Invoke", history) for role in (agent, without)])
    assert [d["decision"] for d in decisions] == ["ExplicitlyDenied", "Allowed"]


def test_an_empty_job_id_is_no_job_for_an_agent():
    # jobs/?* needs a job_id of one character at least: jobs/ would be the listing (operators only).
    agent = principals()["agent"]
    decisions = simulate(
        [case(agent, "execute-api:Invoke", f"{API}/GET/v1/{P}/edgesrv/jobs/{job}") for job in ("", "1", "99270")]
    )
    assert [d["decision"] for d in decisions] == ["ImplicitlyDenied", "Allowed", "Allowed"]


def iot_policy(project: str, **parameters: str) -> dict[str, Any]:
    stack = project_stack(project, **parameters)
    return dict(stack.resolve(stack.resources["DevicePolicy"]["Properties"]["PolicyDocument"]))


def alias_arn(project: str) -> str:
    stack = project_stack(project)
    return str(stack.resolve({"Fn::GetAtt": ["AgentRoleAlias", "RoleAliasArn"]}))


def device(project: str, thing: str, **parameters: str) -> Role:
    """A device of `project`: its certificate carries the project's IoT policy (make node attaches it)."""
    return Role(thing, [{"name": "devices", "policy": iot_policy(project, **parameters)}])


def iot_case(role: Role, action: str, resource: str) -> dict[str, Any]:
    # IoT Core policies: the engine's action data lists no iot:AssumeRoleWithCertificate and no IoT
    # policy variables, so these are evaluated without its validation (tests/iam/simulate.mjs).
    item = case(role, action, resource, mode="unsafe")
    item["context"] = {"iot:Connection.Thing.ThingName": role.name, "iot:Connection.Thing.IsAttached": "true"}
    return item


def test_a_device_gets_credentials_through_its_projects_role_alias_only():
    decisions = simulate(
        [iot_case(device(P, "node-1"), "iot:AssumeRoleWithCertificate", alias_arn(project)) for project in (P, Q)]
    )
    assert [d["decision"] for d in decisions] == ["Allowed", "ImplicitlyDenied"]


def test_with_the_confirmation_publish_a_device_hears_only_its_own_confirmations():
    topics = "arn:aws:iot:us-east-1:123456789012:{}/hw/events/messages/{}/{}/confirm"
    asked = []
    for publish in ("true", "false"):
        node = device(P, "node-1", ConfirmTopicPublish=publish)
        for project, thing in ((P, "node-1"), (P, "node-2"), (Q, "node-1")):
            asked.append(iot_case(node, "iot:Subscribe", topics.format("topicfilter", project, thing)))
            asked.append(iot_case(node, "iot:Receive", topics.format("topic", project, thing)))
        asked.append(iot_case(node, "iot:Connect", "arn:aws:iot:us-east-1:123456789012:client/node-1"))
    decisions = [d["decision"] == "Allowed" for d in simulate(asked)]
    # publish on: its own topics (subscribe, receive) and its own client id; off: nothing of MQTT
    assert decisions == [True, True, False, False, False, False, True] + [False] * 7


def test_no_project_role_lets_its_caller_name_its_own_project_id():
    # A session tag would take precedence over the role's project_id tag: no trust statement allows
    # sts:TagSession, but Roles Anywhere's, which passes only x509* tags and only for the project's OU.
    stack = project_stack(P, RolesAnywhereTrustAnchorArn="arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/x")
    for name in ("AgentRole", "OperatorRole"):
        trust = stack.resolve(stack.resources[name]["Properties"]["AssumeRolePolicyDocument"])
        for statement in trust["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "sts:TagSession" in actions:
                assert statement["Principal"] == {"Service": "rolesanywhere.amazonaws.com"}
                assert statement["Condition"]["ForAllValues:StringLike"] == {"aws:TagKeys": ["x509*"]}
                assert statement["Condition"]["StringEquals"] == {"aws:PrincipalTag/x509Subject/OU": P}
        assert {t["Key"]: t["Value"] for t in stack.resolve(stack.resources[name]["Properties"]["Tags"])} == {
            "project_id": P
        }

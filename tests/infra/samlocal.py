"""What the sam local tests share (test_sam_local_api.py, test_sam_local_lambda.py). SAM CLI itself
runs the template: `sam local start-api` and `sam local start-lambda`, in real Lambda containers (a
Docker engine, or the podman + qemu stand-in that `make sam-runtime` prepares:
localapi/sam-runtime/README.md), against a moto server on the host.

They prove what only SAM's runtime can: that the template runs there (SAM's build of the functions
and their layer, each handler path, the environment, the route and event mapping), and nothing that
the handler and HTTP tests prove already. Every function of template.yaml runs once: those behind a
route through start-api, one call per route; the others through start-lambda, with their events from
events/<package>/. Both are derived from the template and events/, so a function or route added
later is exercised, or its test fails. Arm64 under qemu starts a function in 15 to 30 s: with warm
containers, started at a function's first call (LAZY), each function pays one cold start.

Without a container runtime every test here skips, saying why. SAM passes --env-vars only for
variables the template declares, so the test's copy of the built template declares
AWS_ENDPOINT_URL (empty, which botocore treats as unset) and raises each Timeout for emulation.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from filelock import FileLock

from devkit.moto import LOCAL_READ_TIMEOUT_S, start_moto
from devkit.template import ROOT, TEMPLATE_PATH, Function, load
from tests.support import EVENTS, TEMPLATE
from tests.support.local import free_port

STATE = Path(os.environ.get("SAM_RUNTIME_STATE", ROOT / ".tools" / "sam-runtime"))
PYTHON313 = Path(sys.executable).parent  # the venv's python is 3.13; sam build needs one on PATH
LOCAL_TIMEOUT_S = 120  # each function's Timeout in the test's copy: an emulated cold start takes 15 to 30 s
ENDPOINT = "AWS_ENDPOINT_URL"  # every AWS API a function calls: DynamoDB, EventBridge


# --- the container runtime ---------------------------------------------------------------------


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def engine(docker_host: str, method: str, path: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    """One call to the Docker-compatible API at DOCKER_HOST: (status, JSON or bytes)."""
    if docker_host.startswith("unix://"):
        connection: http.client.HTTPConnection = _Unix(docker_host.removeprefix("unix://"), timeout)
    elif docker_host.startswith("tcp://"):
        host, _, port = docker_host.removeprefix("tcp://").partition(":")
        connection = http.client.HTTPConnection(host, int(port or 2375), timeout=timeout)
    else:
        raise OSError(f"unsupported DOCKER_HOST {docker_host}")
    try:
        payload = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json"} if payload else {})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.startswith((b"{", b"[")) else raw
    finally:
        connection.close()


@dataclass(frozen=True)
class Runtime:
    docker_host: str
    podman: bool

    @property
    def host_alias(self) -> str:
        # podman 4 adds host.containers.internal to every container (and drops Docker's host-gateway)
        return "host.containers.internal" if self.podman else "host.docker.internal"

    @property
    def options(self) -> list[str]:
        return [] if self.podman else ["--add-host", "host.docker.internal:host-gateway"]


IMAGE = "public.ecr.aws/lambda/python:3.13-arm64"  # template.yaml: python3.13, arm64


def find_runtime() -> Runtime | str:
    """The runtime sam local will use, or why there is none (the reason every test skips with)."""
    recorded = STATE / "docker-host"
    docker_host = (
        os.environ.get("DOCKER_HOST")
        or (recorded.read_text().strip() if recorded.is_file() else "")
        or "unix:///var/run/docker.sock"
    )
    hint = "run `make sam-runtime` (root, Debian/Ubuntu) or start Docker"
    try:
        status, version = engine(docker_host, "GET", "/version")
        if status != 200 or not isinstance(version, dict):
            return f"{docker_host} answered {status} to GET /version: {hint}"
        if engine(docker_host, "GET", f"/images/{IMAGE}/json")[0] != 200:
            return (
                f"{IMAGE} is not in the runtime at {docker_host} (the tests pull nothing): "
                f"`docker pull {IMAGE}` where a registry answers, else `make sam-runtime` (root, Debian/Ubuntu)"
            )
    except Exception as error:  # noqa: BLE001 - any answer but a usable engine is a reason to skip
        return f"no container runtime answers at {docker_host} ({type(error).__name__}: {error}): {hint}"
    podman = any("podman" in str(c.get("Name", "")).lower() for c in version.get("Components") or [])
    return Runtime(docker_host, podman)


RUNTIME = find_runtime()
MARKS = [  # every sam local test module's pytestmark
    pytest.mark.tools,
    pytest.mark.docker,
    pytest.mark.skipif(isinstance(RUNTIME, str), reason=f"sam local: {RUNTIME}"),
]


def runtime() -> Runtime:
    if isinstance(RUNTIME, str):
        raise RuntimeError(RUNTIME)
    return RUNTIME


def sam_env() -> dict[str, str]:
    """SAM's environment: a python3.13 on PATH for `sam build`, and the container runtime if any."""
    env = {
        **os.environ,
        "PATH": f"{PYTHON313}:{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    if isinstance(RUNTIME, Runtime):
        env["DOCKER_HOST"] = RUNTIME.docker_host
    return env


def run_sam(sam: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sam, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=sam_env(), check=False
    )


# --- the stack around SAM: moto, the built template, a rule watching the bus --------------------


@dataclass
class Stage:
    template: Path  # the test's copy of the built template
    env_vars: Path
    moto_port: int
    work: Path  # every container SAM starts for this stage mounts code from under here


def staged(build: Path, work: Path) -> Iterator[Stage]:
    """moto on the host and the test's copy of the run's one `sam build` (conftest's `stage`)."""
    server = start_moto("0.0.0.0", 0)  # noqa: S104 - the containers reach the host through its alias
    try:
        yield _stage(build, work, server.server_address[1])
    finally:
        server.shutdown()
        remove_containers(work)


def sam_build(sam: str, folder: Path) -> Path:
    """`sam build` of template.yaml into folder/build, once per run: the first caller builds under a
    lock (pytest-xdist's recipe for a session fixture the workers share), the others wait and take
    what it built, or its failure."""
    build, failed = folder / "build", folder / "build-failed.txt"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / "build.lock"):
        if not (build / "template.yaml").exists() and not failed.exists():
            try:
                built = run_sam(
                    sam,
                    "build",
                    "--template",
                    str(TEMPLATE_PATH),
                    "--build-dir",
                    str(build),
                    "--cache-dir",
                    str(folder / "cache"),
                )
                if built.returncode != 0:
                    failed.write_text(built.stdout + built.stderr)
            except Exception as error:  # a timeout, say: the workers waiting must not build again
                failed.write_text(f"{type(error).__name__}: {error}")
                raise
    if failed.exists():
        pytest.fail(f"sam build failed:\n{failed.read_text()}")
    return build


def _stage(build: Path, work: Path, port: int) -> Stage:
    TEMPLATE.create_tables(boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1"))
    TEMPLATE.create_secrets(
        boto3.client("secretsmanager", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
    )
    # This stage's own copy: every container SAM starts mounts code from under `work`, which tells
    # this stage's containers apart (remove_containers) while the other sam local module runs.
    shutil.copytree(build, work / "build", symlinks=True)
    document = load(work / "build" / "template.yaml")
    for name in TEMPLATE.functions():
        props = document["Resources"][name]["Properties"]
        variables = props.setdefault("Environment", {}).setdefault("Variables", {})
        variables.setdefault(ENDPOINT, "")
        # emulated arm64 and moto (one write at a time): behaviour is tested here, not the time budget;
        # the read timeout as `make run` sets it (localapi/stack.py)
        variables["DYNAMODB_READ_TIMEOUT_SECONDS"] = str(LOCAL_READ_TIMEOUT_S)
        props["Timeout"] = LOCAL_TIMEOUT_S
    local = work / "build" / "template-local.yaml"
    local.write_text(yaml.safe_dump(document, sort_keys=False))
    env_vars = work / "env.json"
    endpoint = f"http://{runtime().host_alias}:{port}"
    env_vars.write_text(json.dumps({name: {ENDPOINT: endpoint} for name in TEMPLATE.functions()}))
    return Stage(local, env_vars, port, work)


def remove_containers(work: Path) -> list[str]:
    """Remove the containers left running with code mounted from `work`: SAM stops its warm containers
    when it exits cleanly, but one it was still starting, or a `sam local invoke` that timed out,
    stays up. Only this stage's containers: the other sam local module may be running beside it."""
    docker_host, removed = runtime().docker_host, []
    status, containers = engine(docker_host, "GET", "/containers/json?all=true")
    for container in containers if status == 200 else []:
        if any(str(m.get("Source", "")).startswith(str(work)) for m in container.get("Mounts") or []):
            engine(docker_host, "DELETE", f"/containers/{container['Id']}?force=true", timeout=60)
            removed.append(container["Id"])
    return removed


@contextlib.contextmanager
def serve(sam: str, stage: Stage, command: str) -> Iterator[int]:
    """`sam local start-lambda` or `start-api` with warm containers, on a free port, until the block ends."""
    port = free_port()
    log = stage.work / f"sam-local-{command}.log"
    process = subprocess.Popen(
        [
            sam,
            "local",
            command,
            "--template",
            str(stage.template),
            "--port",
            str(port),
            "--env-vars",
            str(stage.env_vars),
            "--skip-pull-image",
            "--warm-containers",
            # each function at its first call: EAGER would start every function of the template, in
            # start-api those behind no route, in start-lambda those start-api calls
            "LAZY",
            *runtime().options,
        ],
        cwd=ROOT,
        env=sam_env(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                said = log.read_text(errors="replace")[-3000:]
                if process.poll() is not None:
                    pytest.fail(f"sam local {command} exited ({process.returncode}):\n{said}")
                if time.monotonic() > deadline:
                    pytest.fail(f"sam local {command} did not listen within 300 s:\n{said}")
                time.sleep(1)
        yield port
    finally:
        # Ctrl-C, as a user stops it: SAM then stops and removes its warm containers
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        remove_containers(stage.work)


def retried[T](attempt: Callable[[], T], retryable: Callable[[T], bool]) -> T:
    """attempt(), again up to twice while its answer is retryable: a 503 (the contract's retryable
    answer, as a client retries it), or a failed stream batch or scheduled run (Lambda retries
    those). Under emulation on a loaded 2-core host, a function's connection to moto on the host
    has once timed out (ConnectTimeoutError, after botocore's own retries); any other answer, or a
    third failure, is what the test asserts on."""
    for _ in range(2):
        result = attempt()
        if not retryable(result):
            return result
        time.sleep(1)
    return attempt()


def events_of(function: Function) -> list[Path]:
    """The function's events: events/<package>/*.json (README: one folder per function)."""
    return sorted((EVENTS / function.package).glob("*.json"))

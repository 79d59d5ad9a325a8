"""`make bench`: this project against its floor and the canonical Powertools design, measured in one run.

Prints one table (each row: ours, the floor or peer measured in the same run, the ratio, the
target, every figure with its unit) and writes every figure to .bench/results.json (ignored by
git: a run changes no tracked file). docs/performance.md explains every row and keeps the table
of a run chosen on purpose. Environments are built under .bench/ (host wheels: the deployed
layer is arm64).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import invocation
from devkit import costs
from devkit.costs import LIMITS
from devkit.template import LocalTemplate
from jobstatus.dynamodb import BATCH_GET_SIZE, BATCH_WRITE_SIZE
from report.runs import run_of

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
HERE = ROOT / "benchmarks"
PYTHON = sys.executable  # the project venv's python3.13; run with -S it sees none of the venv
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
DELAY_S = 0.05  # injected into every DynamoDB call to count sequential phases
# (jobs, variant, mode) of the phase and unit counts: a new report (for ours, a change: each job's
# first status), its replay, and for ours a heartbeat (the same statuses again, a minute newer).
MEASURED = [
    (jobs, variant, mode)
    for jobs in (1, 3, 25)
    for variant, modes in (("ours", ("new", "heartbeat", "replay")), ("canonical", ("new", "replay")))
    for mode in modes
    if jobs != 3 or variant == "ours"
]
# The content digest of the bench's jobs (benchmarks/invocation.py: every job says the same, at its own
# time), which the canned DynamoDB's current items carry in the heartbeat and replay modes.
RUN = run_of(json.loads(invocation.body(1))["jobs"][0])
WARM_ROUNDS = 5
# The function whose report path is measured, and the one name it is known by: template.yaml's.
FUNCTION = LocalTemplate.read().function("JobReportFunction")
MEMORY_MB = FUNCTION.memory_mb  # template.yaml's MemorySize, used for both designs
CANONICAL_MODULE = "app"  # benchmarks/canonical/app.py
# Unit prices, us-east-1, from the AWS pricing pages for API Gateway, Lambda and DynamoDB as of
# 2026-11-30 (DynamoDB on-demand prices as cut on 2024-11-01).
PRICES = {
    "http_api_per_million": 1.00,
    "rest_api_per_million": 3.50,
    "lambda_requests_per_million": 0.20,
    "lambda_arm64_gb_second": 0.0000133334,
    "dynamodb_wru_per_million": 0.625,
    "dynamodb_rru_per_million": 0.125,
}
DYNAMODB_LATENCY_MS = 6.0  # assumed in-region round trip, for the cost model's I/O wait


def cpu() -> dict[str, Any]:
    """What the ratios were measured on: they differ between machines of the same kind (docs/performance.md)."""
    info: dict[str, Any] = {"count": os.cpu_count()}
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return info
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    for name in ("model name", "cpu MHz", "cache size", "bogomips"):
        if name in fields:
            info[name] = fields[name]
    return info


def pins(path: Path) -> dict[str, str]:
    found = {}
    for text in path.read_text().splitlines():
        line = text.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[name.split("[")[0].lower()] = version
    return found


def sh(*args: str | Path, what: str = "", **kwargs: Any) -> str:
    """Quiet when it works; when it fails, the command's own output, one line naming what failed, exit 1."""
    try:
        return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kwargs).stdout
    except subprocess.CalledProcessError as failed:
        sys.stderr.write(failed.stdout + failed.stderr)
        print(f"{what or ' '.join(map(str, args))} failed (exit {failed.returncode})", file=sys.stderr)
        raise SystemExit(1) from None


def pip_target(target: Path, *requirements: str, compile_: bool) -> None:
    if target.exists():
        return
    # Built beside the target and renamed when complete: a failed install leaves nothing that the
    # next run would take for a finished one.
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    what = f"pip install of {' '.join(requirements)} into {target}"
    sh(PYTHON, "-m", "pip", "install", "--quiet", "--no-compile", "--target", partial, *requirements, what=what)
    if compile_:
        sh(PYTHON, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", partial)
    partial.rename(target)


def build() -> dict[str, Path]:
    """The runtime dir (boto3, compiled, as in /var/runtime), our layer, the canonical layer, the code."""
    dev, layer = pins(ROOT / "requirements-dev.txt"), pins(ROOT / "layers" / "dependencies" / "requirements.txt")
    BENCH.mkdir(exist_ok=True)
    runtime = BENCH / "runtime"
    pip_target(runtime, f"boto3=={dev['boto3']}", f"botocore=={dev['botocore']}", compile_=True)
    ours_layer = BENCH / "layer-ours"
    if not ours_layer.exists():  # the same recipe sam build runs, with host wheels
        sh(
            "make",
            "-C",
            ROOT / "layers" / "dependencies",
            "build-DependenciesLayer",
            f"ARTIFACTS_DIR={ours_layer}",
            "PLATFORM=host",
            f"PYTHON={PYTHON}",
        )
    canonical_layer = BENCH / "layer-canonical"
    pip_target(
        canonical_layer / "python",
        f"aws-lambda-powertools[tracer]=={layer['aws-lambda-powertools']}",
        f"pydantic=={layer['pydantic']}",
        compile_=False,
    )  # as sam build ships it: no bytecode
    function = BENCH / "function-ours"  # rebuilt every run: it is the code under test
    shutil.rmtree(function, ignore_errors=True)
    function.mkdir()
    sh(
        "make",
        "-C",
        FUNCTION.code_dir,
        f"build-{FUNCTION.logical_id}",  # the recipe sam build runs (BuildMethod: makefile)
        f"ARTIFACTS_DIR={function}",
        f"PYTHON={PYTHON}",
    )
    return {
        "runtime": runtime,
        "ours_layer": ours_layer / "python",
        "canonical_layer": canonical_layer / "python",
        "ours": function,
        "canonical": HERE / "canonical",
    }


class FakeDynamoDB:
    def __init__(self) -> None:
        self.process = subprocess.Popen([PYTHON, HERE / "fake_dynamodb.py"], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{self.process.stdout.readline().strip()}"

    def control(self, **settings: Any) -> None:
        request = urllib.request.Request(f"{self.url}/__control", data=json.dumps(settings).encode(), method="POST")
        urllib.request.urlopen(request).read()

    def log(self) -> list[dict[str, Any]]:
        return list(json.loads(urllib.request.urlopen(f"{self.url}/__log").read())["log"])

    def stop(self) -> None:
        self.process.terminate()


def environment(dynamodb: FakeDynamoDB) -> dict[str, dict[str, str]]:
    """Per variant. Ours runs with template.yaml's environment, as deployed; the others with the common part."""
    common = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "JOB_STATUS_TABLE": "jobs",
        "IDEMPOTENCY_TABLE": "ledger",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    }
    # The canonical design traces with Tracer (X-Ray SDK) as deployed: the SDK treats a process
    # with LAMBDA_TASK_ROOT as a Lambda environment and reads each invocation's trace header
    # (invocation.start_invocation). Unsampled invocations send nothing, so no X-Ray daemon is needed.
    canonical = common | {"LAMBDA_TASK_ROOT": str(HERE / "canonical")}
    return {
        "floor": common,
        # As Lambda runs it: there our functions keep their threads to one vCPU (jobstatus/coldstart.py),
        # and the floor, in ours' process, with them.
        "ours": common | FUNCTION.lambda_environment,
        "canonical": canonical,
        # Only to show how much tracing weighs in the comparison: not the peer of any target.
        "canonical untraced": canonical | {"POWERTOOLS_TRACE_DISABLED": "true"},
    }


def module(variant: str) -> str:
    """The handler module a variant imports: template.yaml's for ours (and the floor's models), app for canonical."""
    return CANONICAL_MODULE if variant.startswith("canonical") else FUNCTION.module


def run_json(env: dict[str, str], *args: str | Path) -> dict[str, Any]:
    return dict(json.loads(sh(PYTHON, "-S", *args, env=env).strip().splitlines()[-1]))


def main() -> int:
    started = time.monotonic()
    print("building the measurement environments in .bench/ ...", file=sys.stderr)
    paths = build()
    dynamodb = FakeDynamoDB()
    env = environment(dynamodb)
    path = {
        "floor": f"{HERE}:{paths['ours']}:{paths['ours_layer']}:{paths['runtime']}",
        "ours": f"{HERE}:{paths['ours']}:{paths['ours_layer']}:{paths['runtime']}",
        "canonical": f"{HERE}:{paths['canonical']}:{paths['canonical_layer']}:{paths['runtime']}",
    }
    results: dict[str, Any] = {
        "machine": platform.platform(),
        "cpu": cpu(),
        "python": platform.python_version(),
        "runs": RUNS,
    }
    try:
        results["cold"] = cold(env, path)
        results["warm"] = warm(env, path, dynamodb)
        results["phases"] = phases(env, path, dynamodb)
        results["writes"] = writes(env, path, dynamodb)
    finally:
        dynamodb.stop()
    print("write and read units, read round trips, stream and PutEvents counts (moto, in process) ...", file=sys.stderr)
    # The handlers' INFO log lines and EMF lines, thousands of them, are not the bench's output.
    logging.disable(logging.INFO)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            results["units"] = {
                "writes": costs.report_write_units(),
                "reads": costs.read_units(),
                "round_trips": costs.read_round_trips(),
                "events": costs.event_counts(),
                "summary": costs.summary_costs(),
            }
    finally:
        logging.disable(logging.NOTSET)
    results["cost"] = cost(results)
    results["size"] = sizes(paths)
    results["elapsed_s"] = round(time.monotonic() - started)
    rows = table(results)
    results["rows"] = rows
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print_table(rows)
    met, targets = sum(r["met"] for r in rows if r["met"] is not None), sum(r["met"] is not None for r in rows)
    saved = (BENCH / "results.json").relative_to(ROOT)
    print(f"\n{met} of {targets} targets met; every figure in {saved} ({results['elapsed_s']} s)")
    machine, python = results["cpu"], results["python"]
    print(f"measured on {machine.get('model name', platform.machine())}, {machine['count']} CPUs, Python {python}")
    return 0


def cold(env: dict[str, dict[str, str]], path: dict[str, str]) -> dict[str, Any]:
    """Fresh processes, interleaved so that drift on a noisy machine hits every variant alike.

    Every variant starts two processes a round, in an order that rotates. Both time init (a
    process that goes on to a first request imports exactly as one that stops), so each init
    median is over 2 x RUNS processes. Peak memory and the first request come from the
    processes they apply to.
    """
    print("cold starts ...", file=sys.stderr)
    samples: dict[str, dict[str, list[float]]] = {}
    variants = ["floor", "ours", "canonical"]
    for run in range(RUNS + 2):
        # The order rotates every round: on these machines a process's time depends on which one
        # ran just before it (swapping two variants' places moved a ratio by 0.15).
        for variant in variants[run % 3 :] + variants[: run % 3]:
            init = run_json(env[variant], HERE / "probe.py", variant, path[variant], module(variant))
            second = run_json(
                env[variant],
                HERE / "probe.py",
                variant,
                path[variant],
                module(variant),
                *(["first"] if variant != "floor" else []),
            )
            if run < 2:  # two warm-up rounds: page cache and CPU frequency settle
                continue
            into = samples.setdefault(variant, {})
            into.setdefault("init_ms", []).extend([init["init_ms"], second["init_ms"]])
            into.setdefault("init_rss_mb", []).append(init["init_rss_mb"])
            for key in ("first_ms", "first_rss_mb"):
                if key in second:
                    into.setdefault(key, []).append(second[key])
    return {variant: {key: statistics.median(v) for key, v in keys.items()} for variant, keys in samples.items()}


def warm(env: dict[str, dict[str, str]], path: dict[str, str], dynamodb: FakeDynamoDB) -> dict[str, Any]:
    """Per-report CPU, every report's sample pooled over WARM_ROUNDS interleaved rounds.

    Ours and the floor run in one process, a report each in turn (warm.py pair): in separate
    processes the floor's median alone moved by 1.6x between identical runs on this machine,
    while in turn their ratio held within 0.05. The canonical design needs its own layer, so it
    runs in its own processes, interleaved round by round.
    """
    print("warm CPU per report ...", file=sys.stderr)
    dynamodb.control(mode="new", delay=0)
    out: dict[str, Any] = {}
    for jobs, count in ((1, 40), (25, 10), (100, 3)):
        # the ledger and the current items' BatchGetItem(s), then the history BatchWriteItem(s) and the
        # current UpdateItems: every call of one new report, which the floor sends again
        calls_per_report = 1 + math.ceil(jobs / BATCH_GET_SIZE) + math.ceil(jobs / BATCH_WRITE_SIZE) + jobs
        requests_file = BENCH / f"requests-{jobs}.json"
        dynamodb.log()
        run_json(env["ours"], HERE / "warm.py", "ours", path["ours"], FUNCTION.module, str(jobs), "1")
        requests_file.write_text(json.dumps(dynamodb.log()[-calls_per_report:]))  # what the floor replays
        samples: dict[str, list[float]] = {"ours": [], "floor": [], "canonical": [], "canonical untraced": []}
        peers = ("canonical", "canonical untraced") if jobs == 1 else ("canonical",)
        for round_ in range(WARM_ROUNDS):
            # The canonical design goes first every other round (see cold: order matters here).
            for step in ("peers", "pair") if round_ % 2 else ("pair", "peers"):
                if step == "pair":
                    pair = run_json(
                        env["ours"],
                        HERE / "warm.py",
                        "pair",
                        path["ours"],
                        FUNCTION.module,
                        str(jobs),
                        str(count),
                        str(requests_file),
                    )
                    samples["ours"] += pair["cpu_samples"]
                    samples["floor"] += pair["floor_samples"]
                    continue
                for variant in peers:
                    measured = run_json(
                        env[variant],
                        HERE / "warm.py",
                        "canonical",
                        path["canonical"],
                        CANONICAL_MODULE,
                        str(jobs),
                        str(count),
                    )
                    samples[variant] += measured["cpu_samples"]
        out[str(jobs)] = {variant: statistics.median(s) for variant, s in samples.items() if s}
        out[str(jobs)]["calls"] = calls_per_report
    return out


def phases(env: dict[str, dict[str, str]], path: dict[str, str], dynamodb: FakeDynamoDB) -> dict[str, Any]:
    print("DynamoDB phases ...", file=sys.stderr)
    out: dict[str, Any] = {"delay_ms": DELAY_S * 1000}
    stored = {"statusCode": 200, "body": json.dumps({"is_success": True, "message": "ok"}), "isBase64Encoded": False}
    replay_item = {
        "id": {"S": "bench#x"},
        "expiration": {"N": str(int(time.time()) + 86400)},
        "status": {"S": "COMPLETED"},
        "data": {"S": json.dumps(stored)},
    }
    for jobs, variant, mode in MEASURED:
        wall = {}
        for delay in (0.0, DELAY_S):
            dynamodb.control(mode=mode, delay=delay, replay_item=replay_item, run=RUN)
            wall[delay] = run_json(
                env[variant], HERE / "warm.py", variant, path[variant], module(variant), str(jobs), "8"
            )["wall_ms"]
        # Sequential round trips = how much the wall time grows per unit of injected delay.
        # The slope cancels the CPU time, which on a slow machine is several delays by itself.
        out[f"{variant} {mode} {jobs}"] = (wall[DELAY_S] - wall[0.0]) / (DELAY_S * 1000)
        out[f"{variant} {mode} {jobs} raw"] = wall[DELAY_S] / (DELAY_S * 1000)
    dynamodb.control(mode="new", delay=0)
    return out


def writes(env: dict[str, dict[str, str]], path: dict[str, str], dynamodb: FakeDynamoDB) -> dict[str, Any]:
    """Requests, write units and read units per report, counted from the calls the fake received."""
    out: dict[str, Any] = {}
    stored = {"statusCode": 200, "body": "{}", "isBase64Encoded": False}
    replay_item = {
        "id": {"S": "bench#x"},
        "expiration": {"N": str(int(time.time()) + 86400)},
        "status": {"S": "COMPLETED"},
        "data": {"S": json.dumps(stored)},
    }
    for jobs, variant, mode in MEASURED:
        if jobs in (1, 3):
            dynamodb.control(mode=mode, delay=0, replay_item=replay_item, run=RUN)
            dynamodb.log()
            run_json(env[variant], HERE / "warm.py", variant, path[variant], module(variant), str(jobs), "1")
            log = dynamodb.log()
            reports = 6  # warm.py sends 5 warm-up reports and 1 measured
            out[f"{variant} {mode}" + ("" if jobs == 1 else f" {jobs}")] = {
                "requests": len(log) / reports,
                "wru": sum(entry["wru"] for entry in log) / reports,
                "rru": sum(entry["rru"] for entry in log) / reports,
            }
    dynamodb.control(mode="new", delay=0)
    return out


def cost(results: dict[str, Any]) -> dict[str, Any]:
    """$ per million 1-job reports: API Gateway + Lambda arm64 + DynamoDB on-demand."""
    share = min(1.0, MEMORY_MB / 1769)  # Lambda's CPU share at this memory size
    out: dict[str, Any] = {
        "prices": PRICES,
        "memory_mb": MEMORY_MB,
        "cpu_share": share,
        "dynamodb_latency_ms": DYNAMODB_LATENCY_MS,
    }
    # Two more, to show what the ratio rests on (no target): "ours at floor CPU", our design
    # (HTTP API, its phases and write units) as if a report cost only the floor's CPU, the three
    # bare botocore calls; and "canonical untraced", the canonical design with Tracer disabled.
    for variant, api, cpu in (
        ("ours", "http_api_per_million", "ours"),
        ("canonical", "rest_api_per_million", "canonical"),
        ("ours at floor CPU", "http_api_per_million", "floor"),
        ("canonical untraced", "rest_api_per_million", "canonical untraced"),
    ):
        design = variant.split()[0]
        phases_new = results["phases"][f"{design} new 1"]
        duration_ms = results["warm"]["1"][cpu] / share + round(phases_new) * DYNAMODB_LATENCY_MS
        lambda_cost = (
            PRICES["lambda_requests_per_million"]
            + duration_ms / 1000 * MEMORY_MB / 1024 * PRICES["lambda_arm64_gb_second"] * 1e6
        )
        dynamodb_cost = dynamodb_per_million(results["writes"][f"{design} new"])
        out[variant] = {
            "api_gateway": PRICES[api],
            "lambda": lambda_cost,
            "dynamodb": dynamodb_cost,
            "duration_ms": duration_ms,
            "total": PRICES[api] + lambda_cost + dynamodb_cost,
        }
    # A healthy fleet's mix: 19 heartbeats to a change (a job reporting once a minute that changes
    # status about every 20 minutes); a heartbeat's Lambda duration taken as a change's.
    mixed = 0.95 * dynamodb_per_million(results["writes"]["ours heartbeat"]) + 0.05 * out["ours"]["dynamodb"]
    out["ours, 95% heartbeats"] = out["ours"] | {
        "dynamodb": mixed,
        "total": out["ours"]["total"] - out["ours"]["dynamodb"] + mixed,
    }
    return out


def dynamodb_per_million(units: dict[str, float]) -> float:
    """$ of DynamoDB on-demand units per million reports, from a report's write and read units."""
    return units["wru"] * PRICES["dynamodb_wru_per_million"] + units["rru"] * PRICES["dynamodb_rru_per_million"]


def size_of(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024 / 1024


def sizes(paths: dict[str, Path]) -> dict[str, float]:
    built = ROOT / ".aws-sam" / "build" / "DependenciesLayer"
    return {
        "function_mb": size_of(paths["ours"]),
        "layer_mb": size_of(built if built.exists() else paths["ours_layer"]),
        "canonical_layer_mb": size_of(paths["canonical_layer"]),
    }


def row(name: str, ours: float, peer: float, peer_name: str, target: float | None, unit: str = "") -> dict[str, Any]:
    ratio = ours / peer if peer else math.inf
    return {
        "row": name,
        "ours": ours,
        "peer": peer,
        "peer_name": peer_name,
        "ratio": ratio,
        "unit": unit,
        "target": target,
        "met": None if target is None else ratio <= target,
    }


def table(r: dict[str, Any]) -> list[dict[str, Any]]:
    c, w, p, wr, cost_ = r["cold"], r["warm"], r["phases"], r["writes"], r["cost"]
    rows = [
        row("cold init", c["ours"]["init_ms"], c["floor"]["init_ms"], "floor", 1.15, "ms"),
        row("cold init", c["ours"]["init_ms"], c["canonical"]["init_ms"], "canonical", 0.5, "ms"),
        row("cold init peak memory", c["ours"]["init_rss_mb"], c["canonical"]["init_rss_mb"], "canonical", None, "MB"),
        row("cold first request", c["ours"]["first_ms"], c["canonical"]["first_ms"], "canonical", 0.5, "ms"),
    ]
    for jobs in ("1", "25", "100"):
        rows.append(row(f"warm CPU, {jobs}-job report", w[jobs]["ours"], w[jobs]["floor"], "floor", 1.3, "ms"))
        rows.append(row(f"warm CPU, {jobs}-job report", w[jobs]["ours"], w[jobs]["canonical"], "canonical", None, "ms"))
    # A new report is each job's first status: a change. A status change of a known job takes the
    # same two phases and units (tests/integration/test_heartbeats.py counts them too).
    for jobs, variant, mode in MEASURED:
        if variant != "ours":
            continue
        ours = p[f"ours {mode} {jobs}"]
        peer = p.get(f"canonical {mode if mode != 'heartbeat' else 'new'} {jobs}", 0.0)
        name = f"DynamoDB phases, {'change (new)' if mode == 'new' else mode} {jobs}-job"
        rows.append(row(name, ours, peer, "canonical" if peer else "", None, "delays"))
        rows[-1]["raw_delays"] = {"ours": p[f"ours {mode} {jobs} raw"]}
        rows[-1]["met"], rows[-1]["target"] = ours <= 2.3, "<= 2.3 delays"
    for name, key, most in (
        ("write units, change (new) 1-job", "ours new", LIMITS.change_wru),
        ("write units, heartbeat 1-job", "ours heartbeat", LIMITS.heartbeat_wru),
        ("write units, heartbeat 3-job", "ours heartbeat 3", LIMITS.heartbeat_3_jobs_wru),
        ("write units, replay 1-job", "ours replay", wr["ours new"]["wru"]),
    ):
        rows.append(row(name, wr[key]["wru"], wr["canonical new"]["wru"], "canonical", None, "WRU"))
        rows[-1]["met"], rows[-1]["target"] = wr[key]["wru"] <= most, f"<= {most:g} WRU"
    for name, key in (("read units, 1-job report", "ours new"), ("read units, 3-job report", "ours new 3")):
        rows.append(row(name, wr[key]["rru"], 0.0, "", None, "RRU"))
    rows.append(
        row("requests, new 1-job", wr["ours new"]["requests"], wr["canonical new"]["requests"], "canonical", None)
    )
    # The cost target is our design at the floor's CPU (docs/performance.md): the fixed prices alone
    # decide a ratio to the canonical design.
    rows.append(
        row(
            "$ per million 1-job reports",
            cost_["ours"]["total"],
            cost_["ours at floor CPU"]["total"],
            "floor CPU",
            1.02,
            "$",
        )
    )
    rows.append(
        row("$ per million 1-job reports", cost_["ours"]["total"], cost_["canonical"]["total"], "canonical", None, "$")
    )
    rows.append(
        row(
            "$ per million, 95% heartbeats",
            cost_["ours, 95% heartbeats"]["total"],
            cost_["canonical"]["total"],
            "canonical",
            None,
            "$",
        )
    )
    rows.append(
        row(
            "$ per million 1-job reports",
            cost_["ours"]["total"],
            cost_["canonical untraced"]["total"],
            "no Tracer",  # the canonical design with its Tracer disabled
            None,
            "$",
        )
    )
    rows.append(
        row(
            "$ per million, ours at floor CPU",
            cost_["ours at floor CPU"]["total"],
            cost_["canonical"]["total"],
            "canonical",
            None,
            "$",
        )
    )
    rows.append(row("layer size", r["size"]["layer_mb"], r["size"]["canonical_layer_mb"], "canonical", None, "MB"))
    rows += unit_rows(r["units"])
    return rows


def unit_rows(u: dict[str, Any]) -> list[dict[str, Any]]:
    """The read routes, the report path's index writes, the events side and the fleet summary
    (devkit/costs.py, counted on moto), against the limits the tests hold them to (devkit.costs.LIMITS)."""
    w, reads, trips = u["writes"], u["reads"], u["round_trips"]
    beats, changed, summary = u["events"]["heartbeats"], u["events"]["changes"], u["summary"]

    def fixed(
        name: str, ours: float, target: float, unit: str, peer: float = 0.0, peer_name: str = ""
    ) -> dict[str, Any]:
        found = row(name, ours, peer, peer_name, None, unit)
        found["ratio"] = math.nan if not peer else ours / peer
        found["target"], found["met"] = f"<= {target:g} {unit}".strip(), ours <= target
        return found

    heartbeat = costs.total(w["heartbeat"])
    most_change = max(costs.total(w[c]) for c in costs.STATUS_CHANGES)
    small, large = reads["1000"]["page_rru"], reads["100000"]["page_rru"]
    return [
        # a heartbeat: the ledger and the current item (the history keeps changes only)
        fixed("WRU, heartbeat, with indexes", heartbeat, LIMITS.heartbeat_wru, "WRU"),
        fixed(
            "category-index WRU, heartbeat",
            w["heartbeat"].get("gsi2", 0),
            LIMITS.heartbeat_category_index_wru,
            "WRU",
        ),
        fixed(
            "WRU, status change, max",
            most_change,
            heartbeat + LIMITS.change_over_heartbeat_wru,
            "WRU",
            heartbeat,
            "heartbeat",
        ),
        row("WRU, new job (first report)", costs.total(w["new job"]), heartbeat, "heartbeat", None, "WRU"),
        fixed(
            "WRU, replay",
            costs.total(w["replay"]),
            heartbeat + LIMITS.replay_over_heartbeat_wru,
            "WRU",
            heartbeat,
            "heartbeat",
        ),
        # the silence and category indexes' writes of a job reporting once a minute, per report, averaged
        # over an hour: unchanged by heartbeats folding (then 10% of a heartbeat's 3 WRU, now 2)
        fixed(
            "index WRU per report, over an hour, 1/min", w["hour index per report"], LIMITS.hour_index_per_report, "WRU"
        ),
        row("RRU, 100-job page of a category", large, small, "1k jobs", LIMITS.page_rru_growth, "RRU"),
        fixed("round trips, GET job", trips["get job"]["round_trips"], LIMITS.get_job_round_trips, "trips"),
        # two by design: the index holds keys only, so that a heartbeat never writes it (docs/design.md#reads)
        fixed(
            "round trips, a /jobs page", trips["page of one category"]["round_trips"], LIMITS.page_round_trips, "trips"
        ),
        fixed("PutEvents calls, 1,000 heartbeats", beats["put_events_calls"], LIMITS.heartbeat_put_events, "calls"),
        fixed(
            "events-function invocations, 1,000 heartbeats",
            beats["invocations"],
            costs.most_invocations(beats["reports"], beats["batch_size"]),
            "calls",
        ),
        fixed(
            "PutEvents calls per 100 status changes",
            changed["put_events_calls"],
            LIMITS.put_events_per_100_changes,
            "calls",
        ),
        # the fleet summary: a project's counters in one BatchGetItem, whatever its size (docs/design.md#summary)
        row(
            "RRU, job summary",
            summary["100000"]["rru"],
            summary["1000"]["rru"],
            "1k jobs",
            LIMITS.summary_rru_growth,
            "RRU",
        ),
        fixed(
            "round trips, job summary",
            max(summary[size]["round_trips"] for size in ("1000", "100000")),
            LIMITS.summary_round_trips,
            "trips",
        ),
        fixed(
            "counter WRU, change of category",
            costs.total(summary["counters, change of category"]),
            LIMITS.counters_change_wru,
            "WRU",
        ),
        fixed(
            "counter WRU, heartbeat", costs.total(summary["counters, heartbeat"]), LIMITS.counters_heartbeat_wru, "WRU"
        ),
    ]


def _with_unit(value: float, unit: str) -> str:
    return f"{value:.2f} {unit}".strip()


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The table as docs/performance.md shows it: every figure with its unit."""
    lines = [
        "| measure | ours | peer | peer is | ratio | target | met |",
        "|---|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        target = r["target"] if isinstance(r["target"], str) else ("" if r["target"] is None else f"<= {r['target']}x")
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        peer = _with_unit(r["peer"], r["unit"]) if r["peer_name"] else ""
        ratio = "" if math.isnan(r["ratio"]) or not r["peer_name"] else f"{r['ratio']:.3f}"
        ours = _with_unit(r["ours"], r["unit"])
        lines.append(f"| {r['row']} | {ours} | {peer} | {r['peer_name']} | {ratio} | {target} | {met} |")
    return lines


def print_table(rows: list[dict[str, Any]]) -> None:
    print()
    for line in table_lines(rows):
        print(line)


if __name__ == "__main__":
    raise SystemExit(main())

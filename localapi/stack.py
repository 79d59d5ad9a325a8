"""The local stack, wired from template.yaml: moto, the tables and queues, every function's runtime,
the HTTP API, the stream event source mappings and the schedules.

Nothing here names a function, a route, a table or a trigger: all of it is learned from the
template, so a function added to template.yaml is served by `make run` with no edit here.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from moto.iotdata.models import iotdata_backends

from devkit.moto import DUMMY_CREDENTIALS, LOCAL_READ_TIMEOUT_S, client, start_moto
from devkit.template import LOCAL_ACCOUNT, LOCAL_REGION, LocalTemplate
from localapi.eventbus import EventTap
from localapi.explorer import Explorer
from localapi.httpapi import HttpApi
from localapi.runtime import FunctionRuntime
from localapi.schedules import Schedule
from localapi.streams import StreamMapping


class LocalStack:
    def __init__(
        self,
        template: LocalTemplate | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        moto_port: int = 8000,
        workers: int = 2,
        access_log: bool = True,
    ) -> None:
        self.template = template or LocalTemplate.read()
        self.host = host
        self._port = port
        self._moto_port = moto_port
        self._workers = workers
        self._access_log = access_log
        self._moto: Any = None
        self._http: Any = None
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.api: HttpApi | None = None
        self._published_seen = 0
        self._published_lock = threading.Lock()
        self._stopped = threading.Event()
        self.mappings: list[StreamMapping] = []
        self.schedules: list[Schedule] = []
        self.queue_urls: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._http.server_address[1]}"

    @property
    def moto_port(self) -> int:
        return int(self._moto.server_address[1])

    @property
    def moto_url(self) -> str:
        return f"http://{self.host}:{self.moto_port}"

    def client(self, service: str) -> Any:
        return client(service, self.moto_url)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """What Lambda sets, the AWS endpoint pointed at moto, then the template's variables."""
        function = self.template.function(logical_id)
        return {
            **DUMMY_CREDENTIALS,
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            # Every AWS API a function calls (DynamoDB, IoT data, ...) goes to the moto server.
            "AWS_ENDPOINT_URL": self.moto_url,
            "DYNAMODB_READ_TIMEOUT_SECONDS": str(LOCAL_READ_TIMEOUT_S),
            "PYTHONUNBUFFERED": "1",  # the function's log lines appear as they are written
            **function.environment,
        }

    def start(self) -> LocalStack:
        os.environ.update({k: os.environ.get(k, v) for k, v in DUMMY_CREDENTIALS.items()})
        self._moto = start_moto(self.host, self._moto_port)
        dynamodb, sqs = self.client("dynamodb"), self.client("sqs")
        self.template.create_tables(dynamodb)
        self.template.create_secrets(self.client("secretsmanager"))
        for queue in self.template.queues():
            self.queue_urls[queue] = sqs.create_queue(QueueName=queue)["QueueUrl"]
        for logical_id, function in self.template.functions().items():
            # A stream mapping (one shard, one batch at a time) and a schedule invoke one at a time:
            # one execution environment each; the HTTP routes get --workers.
            workers = self._workers if function.routes else 1
            runtime = FunctionRuntime(function, self.function_environment(logical_id), workers)
            self.runtimes[logical_id] = runtime.start()
        for runtime in self.runtimes.values():
            runtime.warm()
        self.api = HttpApi(self.template.routes(), self.runtimes, host=self.host, extra=self._explorer)
        self._http = self.api.serve(self.host, self._port, access_log=self._access_log, after=self._show_confirmations)
        EventTap(self.client("events"), sqs, stopped=self._stopped).start()
        for trigger in self.template.streams():
            stream_arn = dynamodb.describe_table(TableName=self.template.table_name(trigger.table))["Table"][
                "LatestStreamArn"
            ]
            mapping = StreamMapping(
                trigger,
                self.runtimes[trigger.function],
                streams=self.client("dynamodbstreams"),
                sqs=sqs,
                stream_arn=stream_arn,
                queue_urls=self.queue_urls,
                stopped=self._stopped,
            )
            self.mappings.append(mapping)
            mapping.start()
        for schedule in self.template.schedules():
            runner = Schedule(schedule, self.runtimes[schedule.function], stopped=self._stopped)
            self.schedules.append(runner)
            runner.start()
        return self

    def _explorer(self, method: str, path: str) -> dict[str, Any] | None:
        return Explorer(self.url, self.template.routes())(method, path)

    def stop(self) -> None:
        self._stopped.set()
        for server in (self._http, self._moto):
            if server is not None:
                server.shutdown()
                server.server_close()
        for runtime in self.runtimes.values():
            runtime.stop()

    def new_confirmations(self) -> list[tuple[str, bytes]]:
        """Messages the functions published to IoT Core (moto) since the last call."""
        published = iotdata_backends[LOCAL_ACCOUNT][LOCAL_REGION].published_payloads
        with self._published_lock:
            fresh, self._published_seen = published[self._published_seen :], len(published)
        return list(fresh)

    def _show_confirmations(self) -> None:
        for topic, payload in self.new_confirmations():
            print(f"IoT publish to {topic}: {payload.decode()}", file=sys.stderr)

"""Confirmation publish to the report's msg_confirm_topic through AWS IoT Core (iot-data Publish).

On Huawei IEF the cloud confirms a message to the edge node on that MQTT topic; here the 200 is
the confirmation, and this publish repeats it for agents that listen on the topic. It never turns
a stored report into an error: a failure is retried a bounded number of times, then reported to
the caller (logged and counted), and the 200 stands. The second AWS adapter beside store.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobstatus import aws

ATTEMPTS = 3
BACKOFF_S = 0.05


def iot_data_client(endpoint: str | None) -> Any:
    """The account's IoT data endpoint (`aws iot describe-endpoint --endpoint-type iot:Data-ATS`), or botocore's."""
    # One attempt a call, 1 s to answer: publish() retries on its own, a bounded number of times.
    return aws.client(
        "iot-data", endpoint_url=f"https://{endpoint}" if endpoint else None, read_timeout_s=1, attempts=1
    )


class ConfirmationPublisher:
    def __init__(self, client: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._sleep = sleep

    def publish(self, topic: str, message_id: str) -> bool:
        """Publish {"message_id", "is_success"} at QoS 1; True once delivered to IoT Core."""
        payload = json.dumps({"message_id": message_id, "is_success": True}).encode()
        for attempt in range(ATTEMPTS):
            try:
                self._client.publish(topic=topic, qos=1, payload=payload)
                return True
            except (ClientError, BotoCoreError):
                if attempt + 1 < ATTEMPTS:
                    self._sleep(BACKOFF_S * 2**attempt)
        return False

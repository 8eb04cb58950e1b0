"""CloudWatch alarms, read for the ``hold_if_alarm`` gate: DescribeAlarms by name, metric and composite alike.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecr_autodeploy.aws.clients import Clients, aws_errors

NAMES_PER_CALL = 100  # DescribeAlarms takes at most 100 AlarmNames
ALARM_TYPES = ["CompositeAlarm", "MetricAlarm"]  # without it, DescribeAlarms returns metric alarms only


class Alarms:
    """The alarms of the function's account, in any region."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def alarm_states(self, region: str, names: Sequence[str]) -> dict[str, str]:
        """Return the StateValue of each named alarm that exists in `region`; raise AwsError."""
        client: Any = self._clients.client("cloudwatch", region)
        wanted = list(dict.fromkeys(names))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), NAMES_PER_CALL):
            request: dict[str, Any] = {"AlarmNames": wanted[start : start + NAMES_PER_CALL], "AlarmTypes": ALARM_TYPES}
            while True:
                with aws_errors("reading alarms", f"{region}: {', '.join(request['AlarmNames'])}"):
                    page = client.describe_alarms(**request)
                for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                    found[str(alarm["AlarmName"])] = str(alarm["StateValue"])
                if not page.get("NextToken"):
                    break
                request["NextToken"] = page["NextToken"]
        return found

"""Runs install and uninstall plans (core.installation) with boto3, step by step and idempotently.

"Create" steps read first and update what exists (queues, table, role, function, alias); a permission is added
only when ``GetPolicy`` does not already hold the same statement; rules and targets are "put" with fixed names
and Ids. Deleting treats "not found" as done. Every failure is an AwsError naming the step, the resource and the
AWS error code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from ecr_autodeploy.aws import iam_steps
from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.aws.iam_steps import Action, Handled
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.installation import LEDGER_TTL_ATTRIBUTE, Earlier, Step, code_digest
from ecr_autodeploy.core.stack import ALIAS
from ecr_autodeploy.core.values import frozen

Handler = Callable[[Any, Step, dict[str, Any]], Handled]

QUEUE_MISSING = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
GONE = frozenset({"ResourceNotFoundException", "NoSuchEntity"})
# A role just created can take seconds before Lambda may assume it (IAM is eventually consistent).
ROLE_NOT_READY = "cannot be assumed by Lambda"
ROLE_WAIT_S = 60.0
ROLE_RETRY_S = 3.0
# update_function_configuration takes what create_function does, except these.
_NOT_CONFIGURATION = ("FunctionName", "Code", "Architectures", "Publish", "PackageType", "Tags")
_WAIT = {"Delay": 1, "MaxAttempts": 600}


@frozen
class Done:
    """What one step did: created, updated, unchanged, done, deleted, or absent (already gone)."""

    step: Step
    action: Action
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        found = {"step": self.step.step, "resource": self.step.resource, "action": self.action}
        if self.detail:
            found["detail"] = self.detail
        return found

    def describe(self) -> str:
        """Return one line for people, e.g. ``created   creating rule ecr-autodeploy``."""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.action:<9} {self.step.step} {self.step.resource}{extra}"


class Installer:
    """Runs plans through a Clients factory (AWS, or an emulator behind its endpoint_url)."""

    def __init__(
        self,
        clients: Clients,
        *,
        sleep: Callable[[float], None] = time.sleep,
        role_wait_s: float = ROLE_WAIT_S,
    ) -> None:
        self._clients = clients
        self._sleep = sleep
        self._role_wait_s = role_wait_s
        self._handlers: dict[tuple[str, str], Handler] = {
            ("sqs", "create_queue"): self._create_queue,
            ("sqs", "delete_queue"): self._delete_queue,
            ("dynamodb", "create_table"): self._create_table,
            ("dynamodb", "update_time_to_live"): self._update_time_to_live,
            ("logs", "create_log_group"): self._create_log_group,
            ("iam", "check_boundary"): iam_steps.check_boundary,
            ("iam", "create_policy"): iam_steps.create_policy,
            ("iam", "put_role_permissions_boundary"): iam_steps.put_role_permissions_boundary,
            ("iam", "create_role"): iam_steps.create_role,
            ("iam", "delete_role_policy"): iam_steps.delete_role_part,
            ("iam", "delete_role"): iam_steps.delete_role_part,
            ("lambda", "create_function"): self._create_function,
            ("lambda", "publish_version"): self._publish_version,
            ("lambda", "create_alias"): self._create_alias,
            ("lambda", "add_permission"): self._add_permission,
            ("lambda", "put_function_event_invoke_config"): self._put_invoke_config,
            ("events", "put_targets"): self._put_targets,
            ("events", "list_targets_by_rule"): self._list_targets,
            ("events", "remove_targets"): self._remove_targets,
            ("events", "delete_rule"): self._delete_rule,
        }

    def run(
        self, steps: Sequence[Step], on_step: Callable[[Done], None] | None = None
    ) -> tuple[list[Done], dict[tuple[str, str], Mapping[str, Any]]]:
        """Run the steps in order; return each one's result and the responses by (operation, resource).

        Raise AwsError naming the step, the resource and the AWS error code at the first failure.
        """
        latest: dict[str, Mapping[str, Any]] = {}
        responses: dict[tuple[str, str], Mapping[str, Any]] = {}
        results: list[Done] = []
        for step in steps:
            params = _resolve(step.params, latest, step)
            handler = self._handlers.get((step.service, step.operation), self._plain)
            with aws_errors(step.step, step.resource):
                action, response, detail = handler(self._clients.client(step.service), step, params)
            latest[step.operation] = response
            responses[(step.operation, step.resource)] = response
            done = Done(step, action, detail)
            results.append(done)
            if on_step is not None:
                on_step(done)
        return results, responses

    # ---- generic ------------------------------------------------------------------------------------------------

    def _plain(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        if step.operation.startswith("delete_"):
            try:
                response = getattr(client, step.operation)(**params)
            except ClientError as err:
                if _code(err) in GONE:
                    return "absent", {}, ""
                raise
            return "deleted", response, ""
        return "done", getattr(client, step.operation)(**params), ""

    # ---- queues, table, logs ------------------------------------------------------------------------------------

    def _create_queue(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        try:
            url = client.get_queue_url(QueueName=params["QueueName"])["QueueUrl"]
        except ClientError as err:
            if _code(err) not in QUEUE_MISSING:
                raise
            return "created", client.create_queue(**params), ""
        client.set_queue_attributes(QueueUrl=url, Attributes=params["Attributes"])
        return "updated", {"QueueUrl": url}, ""

    def _delete_queue(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        try:
            url = client.get_queue_url(QueueName=params["QueueName"])["QueueUrl"]
        except ClientError as err:
            if _code(err) in QUEUE_MISSING:
                return "absent", {}, ""
            raise
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        waiting = int(attributes.get("Attributes", {}).get("ApproximateNumberOfMessages", "0"))
        client.delete_queue(QueueUrl=url)
        return "deleted", {}, f"{waiting} dead-lettered events discarded" if waiting else ""

    def _create_table(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        try:
            client.describe_table(TableName=params["TableName"])
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
            response = client.create_table(**params)
            client.get_waiter("table_exists").wait(TableName=params["TableName"], WaiterConfig=_WAIT)
            return "created", response, ""
        # The key schema cannot change in place; the table is kept as it is.
        return "unchanged", {}, ""

    def _update_time_to_live(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        wanted = params["TimeToLiveSpecification"]
        current = client.describe_time_to_live(TableName=params["TableName"]).get("TimeToLiveDescription", {})
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get("AttributeName") == wanted.get(
            "AttributeName", LEDGER_TTL_ATTRIBUTE
        ):
            return "unchanged", {}, ""
        return "done", client.update_time_to_live(**params), ""

    def _create_log_group(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        try:
            return "created", client.create_log_group(**params), ""
        except ClientError as err:
            if _code(err) != "ResourceAlreadyExistsException":
                raise
        return "unchanged", {}, ""

    # ---- function -------------------------------------------------------------------------------------------------

    def _create_function(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        name = params["FunctionName"]
        try:
            current = client.get_function(FunctionName=name)["Configuration"]
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
            response = self._while_role_propagates(lambda: client.create_function(**params))
            client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
            return "created", response, ""
        code: bytes = params["Code"]["ZipFile"]
        architectures = params.get("Architectures", current.get("Architectures"))
        detail = "same code"
        if current.get("CodeSha256") != code_digest(code) or current.get("Architectures") != architectures:
            client.update_function_code(FunctionName=name, ZipFile=code, Architectures=architectures)
            client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
            detail = "new code"
        settings = {k: v for k, v in params.items() if k not in _NOT_CONFIGURATION}
        response = self._while_role_propagates(
            lambda: client.update_function_configuration(FunctionName=name, **settings)
        )
        client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
        return "updated", response, detail

    def _while_role_propagates(self, call: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
        waited = 0.0
        while True:
            try:
                return call()
            except ClientError as err:
                if not (_code(err) == "InvalidParameterValueException" and ROLE_NOT_READY in str(err)):
                    raise
                if waited >= self._role_wait_s:
                    raise
            self._sleep(ROLE_RETRY_S)
            waited += ROLE_RETRY_S

    def _publish_version(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        response = client.publish_version(**params)
        version = str(response["Version"])
        # With SnapStart a version stays Pending while Lambda takes the snapshot; it serves once Active.
        client.get_waiter("function_active_v2").wait(
            FunctionName=f"{params['FunctionName']}:{version}", WaiterConfig=_WAIT
        )
        return "done", response, f"version {version}"

    def _create_alias(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        detail = f"to version {params['FunctionVersion']}"
        try:
            client.get_alias(FunctionName=params["FunctionName"], Name=params["Name"])
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
            return "created", client.create_alias(**params), detail
        return "updated", client.update_alias(**params), detail

    def _put_invoke_config(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        scope = {k: params[k] for k in ("FunctionName", "Qualifier") if k in params}
        try:
            current = client.get_function_event_invoke_config(**scope)
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
            return "created", client.put_function_event_invoke_config(**params), ""
        if all(current.get(k) == v for k, v in params.items() if k not in scope):
            return "unchanged", current, ""
        # Put replaces the whole configuration (moto 5 appends one instead, and keeps reporting the first).
        return "updated", client.put_function_event_invoke_config(**params), ""

    def _add_permission(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        scope = {"FunctionName": params["FunctionName"]}
        if "Qualifier" in params:
            scope["Qualifier"] = params["Qualifier"]
        # Switching SnapStart on or off moves the permission between the function and its alias: the rule must
        # not keep invoking the scope it no longer targets.
        stale = self._remove_stale_permission(client, params)
        action, response, detail = self._put_permission(client, params, scope)
        return action, response, "; ".join(x for x in (detail, stale) if x)

    def _remove_stale_permission(self, client: Any, params: dict[str, Any]) -> str:
        """Remove the same statement from the other scope (alias or function); return what was removed."""
        other = {"FunctionName": params["FunctionName"]}
        if "Qualifier" not in params:
            other["Qualifier"] = ALIAS
        try:
            policy = json.loads(client.get_policy(**other)["Policy"])
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
            return ""
        suffix = f":function:{params['FunctionName']}" + (f":{other['Qualifier']}" if "Qualifier" in other else "")
        if not any(
            s.get("Sid") == params["StatementId"] and str(s.get("Resource", "")).endswith(suffix)
            for s in policy.get("Statement", [])
        ):
            return ""
        try:
            client.remove_permission(StatementId=params["StatementId"], **other)
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
            return ""
        where = f"alias {other['Qualifier']}" if "Qualifier" in other else "the unqualified function"
        return f"removed the stale permission on {where}"

    def _put_permission(self, client: Any, params: dict[str, Any], scope: dict[str, str]) -> Handled:
        try:
            policy = json.loads(client.get_policy(**scope)["Policy"])
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
            policy = {"Statement": []}
        same_sid = [s for s in policy.get("Statement", []) if s.get("Sid") == params["StatementId"]]
        if same_sid and all(_grants(s, params) for s in same_sid):
            return "unchanged", {}, ""
        if same_sid:
            client.remove_permission(StatementId=params["StatementId"], **scope)
        return ("updated" if same_sid else "created"), client.add_permission(**params), ""

    # ---- rules ------------------------------------------------------------------------------------------------------

    def _put_targets(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        response = client.put_targets(**params)
        _raise_failed_entries(step, response)
        return "done", response, ""

    def _list_targets(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        targets: list[Any] = []
        try:
            for page in client.get_paginator("list_targets_by_rule").paginate(**params):
                targets.extend(page.get("Targets", []))
        except ClientError as err:
            if _code(err) == "ResourceNotFoundException":
                return "absent", {}, ""
            raise
        return "done", {"Targets": targets}, ", ".join(t["Id"] for t in targets)

    def _remove_targets(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        if not params.get("Ids"):
            return "absent", {}, ""
        try:
            response = client.remove_targets(**params)
        except ClientError as err:
            if _code(err) == "ResourceNotFoundException":
                return "absent", {}, ""
            raise
        _raise_failed_entries(step, response)
        return "deleted", response, ", ".join(params["Ids"])

    def _delete_rule(self, client: Any, step: Step, params: dict[str, Any]) -> Handled:
        try:
            client.describe_rule(Name=params["Name"])
        except ClientError as err:
            if _code(err) == "ResourceNotFoundException":
                return "absent", {}, ""
            raise
        return "deleted", client.delete_rule(**params), ""


def _grants(statement: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Return whether an existing policy statement grants exactly what add_permission would."""
    principal = statement.get("Principal", {})
    service = principal.get("Service") if isinstance(principal, Mapping) else principal
    source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
    if service != params["Principal"] or statement.get("Action") != params["Action"] or source != params["SourceArn"]:
        return False
    qualifier = params.get("Qualifier")
    expected = f":function:{params['FunctionName']}" + (f":{qualifier}" if qualifier else "")
    return str(statement.get("Resource", "")).endswith(expected)


def _raise_failed_entries(step: Step, response: Mapping[str, Any]) -> None:
    failed = response.get("FailedEntries") or []
    if response.get("FailedEntryCount", 0) and failed:
        entry = failed[0]
        raise AwsError(
            step.step,
            str(entry.get("ErrorCode", "FailedEntry")),
            str(entry.get("ErrorMessage", "")),
            resource=step.resource,
        )


def _resolve(value: Any, latest: Mapping[str, Mapping[str, Any]], step: Step) -> Any:
    if isinstance(value, Earlier):
        found = _lookup(latest.get(value.operation, {}), value.path)
        if found is None and value.required:
            raise AwsError(step.step, "MissingInput", f"no {value} earlier in the plan", resource=step.resource)
        return found
    if isinstance(value, Mapping):
        return {k: _resolve(v, latest, step) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, latest, step) for v in value]
    return value


def _lookup(response: Mapping[str, Any], path: str) -> Any:
    """Return ``response[Key]``, or for ``List[].Key`` the list of each item's Key (None when absent)."""
    head, _, rest = path.partition("[].")
    found = response.get(head.removesuffix("[]"))
    if not rest or found is None:
        return found
    return [item[rest] for item in found]


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))

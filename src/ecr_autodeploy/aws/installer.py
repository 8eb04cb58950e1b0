"""Install and uninstall: plans as data (core.installation) that one runner (aws.step_runner) executes.

``install`` reads the caller's account and the pinned services (aws.discovery), plans, and runs the plan;
``plan_install`` only plans (``--dry-run`` prints it). Every failure is an AwsError naming the step, the
resource and the AWS error code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.discovery import caller_site, discover_task_access
from ecr_autodeploy.aws.lambda_package import with_rules
from ecr_autodeploy.aws.step_runner import Done, Installer
from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.iam import TaskAccess
from ecr_autodeploy.core.installation import (
    RULES_FILE,
    InstallOptions,
    Step,
    install_steps,
    invoke_arn,
    routes,
    rules_json,
    stack_for,
    uninstall_steps,
)
from ecr_autodeploy.core.values import frozen

__all__ = [
    "Done",
    "InstallOptions",
    "InstallReport",
    "Installer",
    "Step",
    "UninstallReport",
    "install",
    "plan_install",
    "uninstall",
]


@frozen
class InstallReport:
    """What an install created (or, with dry_run, would create): names, ARNs, the plan and each step's result."""

    function_arn: str
    invoke_arn: str
    role_arn: str
    rule_names: tuple[str, ...]
    rules_location: str
    dlq_url: str | None
    dlq_arn: str
    target_dlq_arn: str
    ledger_table: str
    log_group: str
    planned: tuple[Step, ...]
    steps: tuple[Done, ...] = ()
    notes: tuple[str, ...] = ()
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (the plan as data when dry_run)."""
        found: dict[str, Any] = {
            "function_arn": self.function_arn,
            "invoke_arn": self.invoke_arn,
            "role_arn": self.role_arn,
            "rule_names": list(self.rule_names),
            "rules_location": self.rules_location,
            "dlq_url": self.dlq_url,
            "dlq_arn": self.dlq_arn,
            "target_dlq_arn": self.target_dlq_arn,
            "ledger_table": self.ledger_table,
            "log_group": self.log_group,
            "notes": list(self.notes),
            "dry_run": self.dry_run,
        }
        if self.dry_run:
            found["plan"] = [step.to_dict() for step in self.planned]
        else:
            found["steps"] = [done.to_dict() for done in self.steps]
        return found


@frozen
class UninstallReport:
    """What an uninstall removed (or found already gone); with dry_run, only the plan."""

    planned: tuple[Step, ...]
    steps: tuple[Done, ...] = ()
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        if self.dry_run:
            return {"dry_run": True, "plan": [step.to_dict() for step in self.planned]}
        return {"dry_run": False, "steps": [done.to_dict() for done in self.steps]}


def plan_install(
    config: Config,
    options: InstallOptions,
    *,
    account: str,
    region: str,
    package: bytes = b"",
    access: TaskAccess | None = None,
) -> tuple[Step, ...]:
    """Return the install plan; without `access` (not looked up) the policy uses the wider fallback patterns."""
    stack = stack_for(options, account, region)
    return install_steps(
        stack,
        config,
        options,
        package=with_rules(package, rules_json(config), RULES_FILE) if package else package,
        access=access or TaskAccess.unknown(),
        rules_in_package=True,
    )


def install(
    clients: Clients,
    config: Config,
    options: InstallOptions,
    package: bytes,
    *,
    dry_run: bool = False,
    on_step: Callable[[Done], None] | None = None,
    installer: Installer | None = None,
    on_plan: Callable[[Sequence[Step]], None] | None = None,
) -> InstallReport:
    """Create or update everything, idempotently; with dry_run only read and plan. Raise AwsError or ConfigError."""
    site = caller_site(clients)
    discovery = discover_task_access(clients, config, site)
    stack = stack_for(options, site.account, site.region)
    rules = rules_json(config)
    # The rules travel inside the package (no 4 KB environment limit); the environment names the file.
    packaged = with_rules(package, rules, RULES_FILE)
    planned = install_steps(stack, config, options, package=packaged, access=discovery.access, rules_in_package=True)
    report = InstallReport(
        function_arn=stack.function_arn,
        invoke_arn=invoke_arn(stack, options),
        role_arn=stack.role_arn,
        rule_names=tuple(route.rule for route in routes(stack, options)),
        rules_location=f"in the function's package: {RULES_FILE} ({len(rules.encode()):,} bytes)",
        dlq_url=None,
        dlq_arn=stack.dlq_arn,
        target_dlq_arn=stack.target_dlq_arn,
        ledger_table=stack.table_name,
        log_group=stack.log_group,
        planned=planned,
        notes=discovery.notes,
        dry_run=dry_run,
    )
    if dry_run:
        return report
    if on_plan is not None:
        on_plan(planned)
    results, responses = (installer or Installer(clients)).run(planned, on_step)
    queue = responses.get(("create_queue", stack.dlq_name), {})
    # A boundary from other rules is no error (AWS denies what it lacks), but it is said where people look.
    boundary = [
        f"permissions boundary {stack.boundary_name}: {d.detail}"
        for d in results
        if d.step.operation == "check_boundary" and d.detail.startswith("differs")
    ]
    return replace(report, steps=tuple(results), dlq_url=queue.get("QueueUrl"), notes=(*report.notes, *boundary))


def uninstall(
    clients: Clients,
    options: InstallOptions,
    *,
    dry_run: bool = False,
    on_step: Callable[[Done], None] | None = None,
    installer: Installer | None = None,
    on_plan: Callable[[Sequence[Step]], None] | None = None,
) -> UninstallReport:
    """Remove everything install creates for `options.name`, tolerating what is already gone; raise AwsError."""
    site = caller_site(clients)
    stack = stack_for(options, site.account, site.region)
    planned = uninstall_steps(stack)
    if dry_run:
        return UninstallReport(planned, dry_run=True)
    if on_plan is not None:
        on_plan(planned)
    results, _responses = (installer or Installer(clients)).run(planned, on_step)
    return UninstallReport(planned, tuple(results))

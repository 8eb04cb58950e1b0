"""Bootstrap: an administrator writes the permissions boundary (core.bootstrap) that every install stays within."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.discovery import caller_site, discover_task_access
from ecr_autodeploy.aws.step_runner import Done, Installer
from ecr_autodeploy.core.bootstrap import bootstrap_steps
from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.installation import InstallOptions, Step, stack_for
from ecr_autodeploy.core.values import frozen


@frozen
class BootstrapReport:
    """What a bootstrap wrote (or, with dry_run, would write): the boundary's ARN, the plan and each step's result."""

    boundary_arn: str
    role_arn: str
    planned: tuple[Step, ...]
    steps: tuple[Done, ...] = ()
    notes: tuple[str, ...] = ()
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (the plan as data when dry_run)."""
        found: dict[str, Any] = {
            "boundary_arn": self.boundary_arn,
            "role_arn": self.role_arn,
            "notes": list(self.notes),
            "dry_run": self.dry_run,
        }
        if self.dry_run:
            found["plan"] = [step.to_dict() for step in self.planned]
        else:
            found["steps"] = [done.to_dict() for done in self.steps]
        return found


def bootstrap(
    clients: Clients,
    config: Config,
    options: InstallOptions,
    *,
    dry_run: bool = False,
    on_step: Callable[[Done], None] | None = None,
    installer: Installer | None = None,
) -> BootstrapReport:
    """Write the boundary of `options.name`'s role from the rules, idempotently; with dry_run only plan."""
    site = caller_site(clients)
    discovery = discover_task_access(clients, config, site)
    stack = stack_for(options, site.account, site.region)
    planned, folded = bootstrap_steps(stack, config, discovery.access)
    notes = (*discovery.notes, *folded)
    report = BootstrapReport(stack.boundary_arn, stack.role_arn, planned, notes=notes, dry_run=dry_run)
    if dry_run:
        return report
    results, _responses = (installer or Installer(clients)).run(planned, on_step)
    return BootstrapReport(stack.boundary_arn, stack.role_arn, planned, tuple(results), notes)

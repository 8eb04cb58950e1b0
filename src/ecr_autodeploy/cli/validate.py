"""``ecr-autodeploy validate CONFIG``: check a rules file without touching AWS."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, pass_app
from ecr_autodeploy.cli.output import echo_json, table
from ecr_autodeploy.core.gate_rules import format_duration
from ecr_autodeploy.core.rules import Rule


def gates_text(rule: Rule) -> str:
    """Return a rule's gates in a few words (approval, windows, alarms, waves, promotions), or "-"."""
    parts = []
    g = rule.gates
    if g is not None:
        if g.approval:
            parts.append(f"approval ({format_duration(g.expires)})")
        if g.windows:
            parts.append(f"windows {'; '.join(w.text for w in g.windows)}")
        if g.hold_if_alarm:
            parts.append(f"hold_if_alarm {', '.join(g.hold_if_alarm)}")
        if g.max_parallel is not None:
            parts.append(f"max_parallel {g.max_parallel}")
    for t in rule.targets:
        if t.after is not None:
            soak = f" (soak {format_duration(t.soak)})" if t.soak else ""
            parts.append(f"{t.service} after {t.after.cluster}/{t.after.service}{soak}")
    return ", ".join(parts) or "-"


@click.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@pass_app
def validate(app: AppContext, config_path: str) -> None:
    """Check a rules file; print its rules, or the error naming the rule and field."""
    config = app.config(config_path)
    rows = [
        (
            f"rules[{r.index}]",
            r.repository,
            r.tags.describe(),
            r.strategy,
            ", ".join(f"{t.region or '(event region)'}/{t.cluster}/{t.service}" for t in r.targets),
            gates_text(r),
        )
        for r in config.rules
    ]
    if app.as_json:
        echo_json(
            {
                "source": config.source,
                "valid": True,
                "rules": len(config.rules),
                "targets": sum(len(r.targets) for r in config.rules),
            }
        )
        return
    click.echo(table(("RULE", "REPOSITORY", "TAGS", "STRATEGY", "TARGETS", "GATES"), rows))
    count = len(config.rules)
    click.echo(f"{config_path}: valid, {count} rule{'' if count == 1 else 's'}")

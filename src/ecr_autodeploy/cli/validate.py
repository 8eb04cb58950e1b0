"""``ecr-autodeploy validate CONFIG``: check a rules file without touching AWS."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, pass_app
from ecr_autodeploy.cli.output import echo_json, table


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
    click.echo(table(("RULE", "REPOSITORY", "TAGS", "STRATEGY", "TARGETS"), rows))
    count = len(config.rules)
    click.echo(f"{config_path}: valid, {count} rule{'' if count == 1 else 's'}")

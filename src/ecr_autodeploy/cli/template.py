"""``ecr-autodeploy template``: a SAM/CloudFormation template equivalent to `install`, on stdout."""

from __future__ import annotations

import json

import click

from ecr_autodeploy.cli.context import AppContext, config_option, pass_app
from ecr_autodeploy.cli.install import install_options
from ecr_autodeploy.cli.policy import task_access
from ecr_autodeploy.core.installation import InstallOptions
from ecr_autodeploy.core.template import DEFAULT_CODE_URI, target_template, template


@click.command("template")
@config_option
@install_options
@click.option(
    "--code-uri", default=DEFAULT_CODE_URI, show_default=True, help="The Lambda zip `ecr-autodeploy package` wrote."
)
@click.option("--discover/--no-discover", default=True, show_default=True, help="Read the services' roles from ECS.")
@click.option("--format", "output_format", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option(
    "--target-role",
    metavar="ROLE_ARN",
    help="Print the stack of a cross-account target's account instead: the role_arn's role, trusting the function.",
)
@pass_app
def template_command(
    app: AppContext,
    config_path: str | None,
    options: InstallOptions,
    code_uri: str,
    discover: bool,
    output_format: str,
    target_role: str | None,
) -> None:
    """Print a template for `sam deploy` with the same role policy, rule patterns and settings as install."""
    config = app.config(config_path)
    if target_role is not None:
        document = target_template(config, options, target_role)
    else:
        document = template(config, options, task_access(app, config, discover), code_uri=code_uri)
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
        return
    import yaml

    click.echo(yaml.safe_dump(document, sort_keys=False, width=120), nl=False)

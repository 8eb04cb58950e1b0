"""``ecr-autodeploy package``: build the Lambda zip (deterministic: same sources, same bytes) and report its size."""

from __future__ import annotations

from pathlib import Path

import click

from ecr_autodeploy.aws.lambda_package import SIZE_TARGET, build_package
from ecr_autodeploy.cli.context import AppContext, pass_app
from ecr_autodeploy.cli.output import echo_json
from ecr_autodeploy.core.template import DEFAULT_CODE_URI


@click.command()
@click.option(
    "--zip",
    "zip_path",
    type=click.Path(dir_okay=False, writable=True),
    default=DEFAULT_CODE_URI,
    show_default=True,
    help="Where to write the zip (the template's CodeUri).",
)
@pass_app
def package(app: AppContext, zip_path: str) -> None:
    """Build the Lambda zip: only the package modules the handler imports (boto3 comes from the runtime)."""
    built = build_package()
    Path(zip_path).write_bytes(built.data)
    if app.as_json:
        echo_json(
            {
                "path": zip_path,
                "bytes": built.size,
                "sha256": built.sha256,
                "files": list(built.files),
                "target_bytes": SIZE_TARGET,
            }
        )
        return
    verdict = "under" if built.size < SIZE_TARGET else "OVER"
    click.echo(
        f"wrote {zip_path}: {built.size:,} bytes ({built.size / 1024:.1f} KB, {verdict} the "
        f"{SIZE_TARGET // 1024} KB target), {len(built.files)} modules, sha256 {built.sha256}"
    )

"""``python -m ecr_autodeploy``: the same as the ``ecr-autodeploy`` command."""

from ecr_autodeploy.cli.main import main

main()

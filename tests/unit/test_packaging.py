"""Unit tests of packaging: a deterministic, small Lambda zip that holds what the handler imports and no more."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from ecr_autodeploy.aws.lambda_package import SIZE_TARGET, build_package, lambda_modules

# Run with the zip first on sys.path and the CLI/emulator libraries unimportable, as on Lambda (where boto3 is
# the runtime's). SnapStart init wires at import, so this also proves the snapshot's init path works.
LAMBDA_PROBE = """
import importlib.abc, json, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("click", "yaml", "moto", "rich"):
            raise ImportError(f"{name} is not on Lambda")
        return None
sys.meta_path.insert(0, Refuse())
sys.path.insert(0, sys.argv[1])
import ecr_autodeploy.handler as entry
print(json.dumps({
    "file": entry.__file__,
    "wired": entry._app is not None,
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "click", "yaml", "moto")),
}))
"""


def test_same_sources_give_the_same_bytes() -> None:
    assert build_package().data == build_package().data


def test_the_package_is_small_and_holds_only_lambda_modules() -> None:
    package = build_package()
    assert package.size < SIZE_TARGET
    assert "ecr_autodeploy/handler.py" in package.files
    assert "ecr_autodeploy/wiring.py" in package.files
    assert not [f for f in package.files if f.startswith(("ecr_autodeploy/cli/", "ecr_autodeploy/local/"))]
    assert "ecr_autodeploy/aws/lambda_package.py" not in package.files


def test_entries_are_sorted_with_fixed_time_and_mode() -> None:
    with zipfile.ZipFile(io.BytesIO(build_package().data)) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_the_zipped_handler_wires_without_cli_libraries(tmp_path: Path) -> None:
    archive = tmp_path / "lambda.zip"
    archive.write_bytes(build_package().data)
    env = {
        **os.environ,
        "AUTODEPLOY_CONFIG": json.dumps(
            {"rules": [{"repository": "app", "targets": [{"cluster": "c", "service": "s"}]}]}
        ),
        "AUTODEPLOY_LEDGER_TABLE": "ecr-autodeploy-ledger",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", LAMBDA_PROBE, str(archive)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["file"].startswith(str(archive))
    assert found["wired"] is True
    assert "boto3" in found["modules"]
    assert not [m for m in found["modules"] if m.split(".")[0] in ("click", "yaml", "moto")]


def test_modules_follow_absolute_relative_and_lazy_imports_only(tmp_path: Path) -> None:
    package = tmp_path / "ecr_autodeploy"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "handler.py": "from ecr_autodeploy import wired\n\ndef f():\n    from .sub import lazy\n",
        "wired.py": "import json\nfrom ecr_autodeploy.sub.deep import x\n",
        "sub/__init__.py": "",
        "sub/lazy.py": "from .. import wired\n",
        "sub/deep.py": "x = 1\n",
        "unused.py": "import ecr_autodeploy.handler\n",
        "cli.py": "import click\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    assert lambda_modules(package) == (
        "ecr_autodeploy/__init__.py",
        "ecr_autodeploy/handler.py",
        "ecr_autodeploy/sub/__init__.py",
        "ecr_autodeploy/sub/deep.py",
        "ecr_autodeploy/sub/lazy.py",
        "ecr_autodeploy/wired.py",
    )

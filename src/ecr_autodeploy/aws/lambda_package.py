"""The Lambda package: a deterministic zip of the ecr_autodeploy modules the Lambda entry point imports.

The modules are found by reading import statements (``ast``), starting from the handler, and following
only ``ecr_autodeploy`` modules: the CLI and the emulator glue are left out, and boto3 comes from the Lambda
runtime. Same sources, same bytes: entries are sorted, and every entry has a fixed time and mode.
"""

from __future__ import annotations

import ast
import hashlib
import io
import zipfile
from pathlib import Path

import ecr_autodeploy
from ecr_autodeploy.core.values import frozen

PACKAGE = "ecr_autodeploy"
ENTRY_MODULES = ("ecr_autodeploy.handler",)
SIZE_TARGET = 200 * 1024
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
_MODE = 0o100644 << 16  # a regular file, rw-r--r--


@frozen
class Package:
    """The zip bytes and the package files in it."""

    data: bytes
    files: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def build_package(root: Path | None = None, entries: tuple[str, ...] = ENTRY_MODULES) -> Package:
    """Return the Lambda zip of the modules `entries` import, read from the package directory `root`."""
    package_dir = root or Path(ecr_autodeploy.__file__).resolve().parent
    files = lambda_modules(package_dir, entries)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in files:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever builds it, so the mode bits mean the same
            info.external_attr = _MODE
            archive.writestr(info, (package_dir.parent / name).read_bytes(), compresslevel=9)
    return Package(buffer.getvalue(), files)


def with_rules(data: bytes, rules: str, name: str) -> bytes:
    """Return the zip `data` with the rules file `name` (at the root) added or replaced, deterministically.

    Bytes that are not a zip (a placeholder in a plan) are returned as they are.
    """
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return data
    source = zipfile.ZipFile(io.BytesIO(data))
    entries = {info.filename: source.read(info) for info in source.infolist() if info.filename != name}
    entries[name] = rules.encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for filename in sorted(entries):
            info = zipfile.ZipInfo(filename, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = _MODE
            archive.writestr(info, entries[filename], compresslevel=9)
    return buffer.getvalue()


def lambda_modules(package_dir: Path, entries: tuple[str, ...] = ENTRY_MODULES) -> tuple[str, ...]:
    """Return the zip paths (``ecr_autodeploy/...py``) of the entry modules and every package module they import."""
    seen: set[str] = set()
    pending = list(entries)
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        path = _module_path(package_dir, module)
        if path is None:
            continue
        seen.add(module)
        parts = module.split(".")
        # A module's packages run their __init__ first.
        pending.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        pending.extend(_imports(path, module, path.name == "__init__.py"))
    files = {_module_path(package_dir, m) for m in seen}
    return tuple(sorted(str(p.relative_to(package_dir.parent).as_posix()) for p in files if p is not None))


def _module_path(package_dir: Path, module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str, is_package: bool) -> list[str]:
    """Return the modules `path` imports anywhere in its body (lazy imports inside functions included)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = module if is_package else module.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            found.append(origin)
            # "from pkg import mod" may name a submodule rather than an attribute.
            found.extend(f"{origin}.{alias.name}" for alias in node.names)
    return [name for name in found if name == PACKAGE or name.startswith(f"{PACKAGE}.")]

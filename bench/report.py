"""``python -m bench.report [RESULTS.json]``: print a results file as the Markdown tables BENCHMARKS.md keeps."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.__main__ import RESULTS


def markdown(document: dict[str, Any]) -> str:
    """Return the machine and the figures of a results document as Markdown."""
    m = document["machine"]
    lines = [
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['system']}, Python {m['python']}, boto3 {m['boto3']}, "
        f"moto {m['moto']}; measured {m['date']}.",
        "",
        "| figure | subject | baseline | ratio | target | met |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for f in document["figures"]:
        spread = f" (IQR {f['spread'][0]:.1f}–{f['spread'][1]:.1f})" if f.get("spread") else ""
        lines.append(
            f"| {f['title']} | {_number(f['subject'])} {f['unit']}{spread} | {_number(f['baseline'])} {f['unit']} "
            f"({f['baseline_label']}) | {f['ratio']:.3f} | ≤ {f['target']:g} | {'yes' if f['met'] else '**no**'} |"
        )
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "latest.json"
    print(markdown(json.loads(path.read_text(encoding="utf-8"))))

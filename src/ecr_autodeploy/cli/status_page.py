"""``status --html``: one self-contained page (no script, font or style from elsewhere) of every mapped service.

Per service: what runs, the newest image its rule allows, drift, the last deployment's outcome, and what is
pending: a rollout ECS has not finished (the function judges it when it does), drift that reconcile will deploy,
or drift held back (an image newer than the rules allow, a force service with no record).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ecr_autodeploy.cli.output import SCHEMA_VERSION

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1b1f24; background: #fff; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
p.meta { color: #57606a; margin: 0 0 1.2em; }
ul.counts { list-style: none; padding: 0; display: flex; gap: 1.5em; margin: 0 0 1.2em; }
ul.counts li b { font-size: 1.3em; margin-right: .3em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { background: #f6f8fa; }
td code { font: 12px ui-monospace, monospace; word-break: break-all; }
.state { font-weight: 600; padding: .05em .45em; border-radius: .6em; white-space: nowrap; }
.good { background: #dafbe1; color: #116329; }
.bad { background: #ffebe9; color: #a40e26; }
.busy { background: #fff8c5; color: #7d4e00; }
.quiet { background: #eaeef2; color: #57606a; }
ul.notes { color: #57606a; }
"""
KINDS = {
    "COMPLETED": "good",
    "no": "good",
    "FAILED": "bad",
    "TIMEOUT": "bad",
    "error": "bad",
    "STARTED": "busy",
    "IN_PROGRESS": "busy",
    "yes": "busy",
    "newer": "quiet",
    "unknown": "quiet",
    "SUPERSEDED": "quiet",
}


def pending(service: Mapping[str, Any]) -> str:
    """Return what is still to happen to a service (its pending gate), or "-"."""
    gate = service.get("gate")
    if gate:
        return f"{gate.get('status')} ({gate.get('gate') or 'gate'}): {gate.get('reason')}"
    state = service.get("last_deployment_state")
    if state in ("STARTED", "IN_PROGRESS") and service.get("last_deployment_id"):
        return f"rollout {service['last_deployment_id']} in progress: judged when ECS finishes it"
    drift = service.get("drift")
    if drift == "yes":
        return "drift: reconcile deploys the newest allowed image"
    if drift == "newer":
        return "held: runs an image newer than the rules allow (allow_downgrade to replace it)"
    if drift == "unknown":
        return "held: force service with no ledger record of what it runs"
    return "-"


def _badge(value: object) -> str:
    text = "-" if value in (None, "") else str(value)
    kind = KINDS.get(text.split(" ")[0], "")
    escaped = html.escape(text)
    return f'<span class="state {kind}">{escaped}</span>' if kind else escaped


def _image(tag: object, digest: object) -> str:
    parts = [html.escape(str(tag))] if tag else []
    if digest:
        parts.append(f"<code>{html.escape(str(digest))}</code>")
    return " ".join(parts) or "-"


def _row(service: Mapping[str, Any]) -> str:
    name = str(service.get("service_key") or service.get("service"))
    newest_tags: Sequence[str] = service.get("newest_tags") or []
    last = service.get("last_deployment_state")
    when = service.get("last_deployment_at") or ""
    cells = [
        f"<code>{html.escape(name)}</code>",
        html.escape(str(service.get("repository", ""))),
        _image(service.get("running_tag"), service.get("running_digest")),
        _image(newest_tags[0] if newest_tags else None, service.get("newest_digest")),
        _badge(service.get("drift")) + (f"<br><small>{html.escape(str(service.get('reason') or ''))}</small>"),
        _badge(last) + (f"<br><small>{html.escape(str(when))}</small>" if when else ""),
        html.escape(pending(service)),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def page(data: Mapping[str, Any], *, now: datetime | None = None) -> str:
    """Return the status as one HTML document that needs nothing else to display."""
    services: Sequence[Mapping[str, Any]] = data.get("services", [])
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    counts = {
        "services": len(services),
        "drifting": sum(1 for s in services if s.get("drift") == "yes"),
        "failed": sum(1 for s in services if s.get("last_deployment_state") in ("FAILED", "TIMEOUT")),
        "in progress": sum(1 for s in services if s.get("last_deployment_state") in ("STARTED", "IN_PROGRESS")),
        "errors": sum(1 for s in services if s.get("drift") == "error"),
    }
    notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in data.get("notes", []))
    header = "".join(
        f"<th>{h}</th>"
        for h in ("Service", "Repository", "Running", "Newest allowed", "Drift", "Last deployment", "Pending")
    )
    rows = "\n".join(_row(s) for s in services) or '<tr><td colspan="7">no mapped service found</td></tr>'
    region = html.escape(str(data.get("region", "")))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ecr-autodeploy status (schema_version {SCHEMA_VERSION})">
<title>ecr-autodeploy status: {region}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>ecr-autodeploy status</h1>
<p class="meta">region {region}, {data.get("repositories", 0)} repositories, generated {html.escape(stamp)}</p>
<ul class="counts">{"".join(f'<li id="count-{k.replace(" ", "-")}"><b>{v}</b>{k}</li>' for k, v in counts.items())}</ul>
<table id="services">
<thead><tr>{header}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
{f'<h2>Notes</h2><ul class="notes">{notes}</ul>' if notes else ""}
</body>
</html>
"""

"""What the gates say about each surveyed service (``status``'s GATE column): paused, pending approval, deferred.

For a service that drifts, the deploy reconcile would make is judged by the same gate keeper as a real one, from
the survey's rows and without writing anything (an approval not yet requested reads "would request"). A paused
service is paused whatever its drift.
"""

from __future__ import annotations

from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.gates import paused_hold
from ecr_autodeploy.core.model import ImageInfo
from ecr_autodeploy.core.outcomes import Hold, Outcome
from ecr_autodeploy.core.planning import Plan
from ecr_autodeploy.engine.gates import GateKeeper
from ecr_autodeploy.engine.reconcile import drift_event
from ecr_autodeploy.engine.survey import SurveyResult, SurveyRow

STATUS_RUN = "status"


def gate_views(keeper: GateKeeper, surveyed: SurveyResult, region: str) -> dict[str, Hold | Outcome]:
    """Return, by target key, what the gates hold for each surveyed service (left out: nothing holds it); a gate
    that could not be judged is a failed outcome."""
    try:
        pauses = keeper.pauses()
    except AwsError as err:
        failed = Outcome("failed", f"the pauses could not be read: {err}", error_code=err.code)
        return dict.fromkeys((row.target.key for row in surveyed.rows), failed)
    views: dict[str, Hold | Outcome] = {}
    groups: dict[tuple[str, str, str, str | None], list[SurveyRow]] = {}
    for row in surveyed.rows:
        pause = pauses.of(row.target)
        if pause is not None:
            views[row.target.key] = paused_hold(pause)
        elif row.drift.state == "yes" and row.newest is not None and row.target.gated:
            tag = row.target.tags.first_allowed(row.newest.tags)
            groups.setdefault((row.repository.name, row.repository.registry_id, row.newest.digest, tag), []).append(row)
    for (name, registry_id, digest, tag), rows in groups.items():
        event = drift_event(STATUS_RUN, region, rows[0], name, registry_id, tag, digest)
        plans: list[Plan | Outcome] = [Plan(r.target, "register", "", digest=digest, tag=tag) for r in rows]
        images: dict[str, ImageInfo] = {r.target.key: r.newest for r in rows if r.newest is not None}
        for item in keeper.hold(event, plans, {}, images, record=False):
            if isinstance(item, Plan) and item.hold is not None:
                views[item.target.key] = item.hold
            elif isinstance(item, Outcome) and item.target:
                views[item.target] = item
    return views

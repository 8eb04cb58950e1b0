"""The demo's checks are real: a scenario that does not behave fails the summary (and the command exits 1)."""

from __future__ import annotations

import pytest

from ecr_autodeploy.local.scenarios import Demo
from ecr_autodeploy.local.summary import Summary

pytestmark = pytest.mark.slow  # the whole demo, scenario 2 waiting for its rollout


def test_a_broken_image_that_is_not_broken_fails_scenario_2() -> None:
    lines: list[str] = []
    # Scenario 2's image starts fine, so its deployment COMPLETES: the demo must not call that expected.
    summary: Summary = Demo(lines.append, wait_s=5, broken_exit_code=0).run()

    assert not summary.ok
    first, second, *_ = summary.scenarios
    assert not second.ok
    failed = {c.what for c in second.checks if not c.ok}
    assert {"api: reported FAILED (never success)", "worker: rolled back by the circuit breaker"} <= failed
    assert {r.rollout for r in second.rows} == {"COMPLETED"}
    assert first.ok
    assert any("scenario 2 NOT as expected" in line for line in lines)
    assert summary.to_dict()["ok"] is False

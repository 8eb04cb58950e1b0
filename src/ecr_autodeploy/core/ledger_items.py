"""The deploy ledger's items as plain data: keys, lifetimes and the deployment record (no AWS here).

One DynamoDB table, partition key ``pk`` (string), TTL attribute ``expires_at`` (epoch seconds):

    svc#SERVICE                 per-service lock (lease_owner, lease_until) + the last deployment started there
    claim#SERVICE#DIGEST        one deployment per (service, digest): state claimed|deployed, event id, deployment id
    dep#DEPLOYMENT_ID           what we started, so the ECS Deployment State Change event can be recognised
    drift#SERVICE#DIGEST        "this drift was notified" (one message a day, not one per reconcile run)
    pause#installation          every pause, one attribute per scope (core/pauses.py)
    approval#ID                 a pending deployment awaiting approval, or the decision (core/approvals.py)
    approval#open               the ids of the pending approvals (a string set): listing them needs no Scan

SERVICE is ``ServiceRef.ledger_key``: ``region/cluster/service``, prefixed with the account for a target reached
through a role.
"""

from __future__ import annotations

from typing import Literal

# The function's environment, as install sets it.
LEDGER_TABLE_ENV = "AUTODEPLOY_LEDGER_TABLE"
FUNCTION_TIMEOUT_ENV = "AUTODEPLOY_FUNCTION_TIMEOUT"
# The Lambda timeout install sets (seconds); the lock's lease is derived from it.
FUNCTION_TIMEOUT_SECONDS = 120
LEASE_MARGIN_SECONDS = 30


def lock_lease(function_timeout: float) -> float:
    """Return the service lock's lease: longer than the invocation holding it can live, so it never lapses under
    a live holder (a holder that died frees the service when the lease passes)."""
    return function_timeout + LEASE_MARGIN_SECONDS


LOCK_LEASE_SECONDS = lock_lease(FUNCTION_TIMEOUT_SECONDS)
# How long a caller waits for another deploy to the same service before failing the target (Lambda retries it).
LOCK_WAIT_SECONDS = 30.0
# A (service, digest) is deployed once in this window: covers Lambda's 6 h and EventBridge's 24 h redelivery, and
# keeps reconcile from redeploying, every 15 minutes, a digest whose rollout failed.
CLAIM_TTL_SECONDS = 7 * 24 * 3600
RECORD_TTL_SECONDS = 30 * 24 * 3600
DRIFT_NOTICE_TTL_SECONDS = 24 * 3600
# A rollout not finished after this is judged TIMEOUT by reconcile (and rolled back when the rule says so).
ROLLOUT_TIMEOUT_SECONDS = 30 * 60

RecordState = Literal["STARTED", "IN_PROGRESS", "COMPLETED", "FAILED", "TIMEOUT", "SUPERSEDED"]
# The records themselves, and what the ledger's writes answer, are in core/records.py (the deploy path's).
OPEN_STATES: tuple[str, ...] = ("STARTED", "IN_PROGRESS")


def service_pk(key: str) -> str:
    """Return the partition key of a service's lock/last-deployment item."""
    return f"svc#{key}"


def claim_pk(key: str, digest: str) -> str:
    """Return the partition key of the one-deployment-per-(service, digest) claim."""
    return f"claim#{key}#{digest}"


def deployment_pk(deployment_id: str) -> str:
    """Return the partition key of a deployment record."""
    return f"dep#{deployment_id}"


PAUSES_PK = "pause#installation"
OPEN_APPROVALS_PK = "approval#open"
# A closed approval stays this long after its decision (a rejected image is not proposed again meanwhile).
APPROVAL_TTL_SECONDS = 30 * 24 * 3600


def approval_pk(approval: str) -> str:
    """Return the partition key of an approval."""
    return f"approval#{approval}"


def drift_pk(key: str, digest: str) -> str:
    """Return the partition key of a drift notice."""
    return f"drift#{key}#{digest}"

"""The use cases: deploy an image, track its rollout, roll back, reconcile, survey; ports in engine/ports.py."""

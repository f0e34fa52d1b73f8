"""Helpers of the shell and run-time CA tests of base (also used by its children's tests)."""

from __future__ import annotations

from tests.harness.containers import TrackedContainer


def wait_for_command(container: TrackedContainer, name: str = "sleep") -> None:
    """Wait until the container's command runs: the init ran it after the start-up scripts."""
    container.wait_until(
        lambda: container.exec(["pgrep", "-x", name], check=False).code == 0,
        timeout=60,
        message=f"the command {name} running",
    )

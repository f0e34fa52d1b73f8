"""A small image derived from the image under test, with cont-init scripts and a service of
the smoke tests: how users extend the images, so the most realistic way to test the init."""

from __future__ import annotations

import logging
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images.conftest import ImageUnderTest

log = logging.getLogger(__name__)

SMOKE_DIR = "/tmp/kfnb-smoke"
SERVICE = "kfnb-smoke"
FAILING_SCRIPT = "52-kfnb-smoke-maybe-fail"

_FILES: dict[str, str] = {
    # The two shebangs that s6-overlay documents for start-up scripts.
    "cont-init.d/50-kfnb-smoke-first": f"""#!/usr/bin/with-contenv bash
mkdir -p {SMOKE_DIR}
echo "50 ${{SMOKE_VAR:-unset}}" >>{SMOKE_DIR}/order
""",
    "cont-init.d/51-kfnb-smoke-second": f"""#!/command/with-contenv bash
echo "51 ${{SMOKE_VAR:-unset}}" >>{SMOKE_DIR}/order
""",
    f"cont-init.d/{FAILING_SCRIPT}": f"""#!/bin/sh
if [ "${{SMOKE_FAIL:-0}}" = 1 ]; then
  echo "{FAILING_SCRIPT}: failing on purpose" >&2
  exit 3
fi
echo "52 ${{SMOKE_VAR:-unset}}" >>{SMOKE_DIR}/order
""",
    f"services.d/{SERVICE}/run": f"""#!/usr/bin/with-contenv bash
cp {SMOKE_DIR}/order {SMOKE_DIR}/order-seen-by-service
echo "$$" >>{SMOKE_DIR}/starts
echo "{SERVICE}: service started (pid $$, uid $(id -u))"
exec sleep infinity
""",
    # A finish script that brings the container down when asked to, the s6-overlay way.
    f"services.d/{SERVICE}/finish": f"""#!/usr/bin/with-contenv sh
echo "{SERVICE}: finish $1 $2"
if [ -n "${{SMOKE_HALT_CODE:-}}" ]; then
  echo "$SMOKE_HALT_CODE" >/run/s6-linux-init-container-results/exitcode
  exec /run/s6/basedir/bin/halt
fi
""",
}

_DOCKERFILE = """ARG BASE_IMG
FROM $BASE_IMG
COPY --chown=1000:0 s6/ /etc/
"""


def _build(*, parent: str, tag: str, workdir: Path) -> None:
    for rel, text in _FILES.items():
        path = workdir / "s6" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o775)
    (workdir / "Dockerfile").write_text(_DOCKERFILE, encoding="utf-8")
    result = subprocess.run(
        [
            "docker",
            "buildx",
            "build",
            "--load",
            "--build-arg",
            f"BASE_IMG={parent}",
            "-t",
            tag,
            str(workdir),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"building the derived test image failed:\n{result.stderr[-3000:]}", pytrace=False
        )


@pytest.fixture(scope="session")
def derived_image(
    image_under_test: ImageUnderTest,
    image_ref_under_test: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Ref of an image FROM the image under test with the smoke cont-init scripts and service."""
    tag = f"kfnb-smoke/{image_under_test.image.repository}-derived:{uuid.uuid4().hex[:12]}"
    _build(parent=image_ref_under_test, tag=tag, workdir=tmp_path_factory.mktemp("derived"))
    log.info("built %s", tag)
    try:
        yield tag
    finally:
        subprocess.run(
            ["docker", "image", "rm", "-f", tag], capture_output=True, check=False, timeout=120
        )

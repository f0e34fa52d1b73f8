"""The options `invoke build`, `smoke` and `bake` share, made into a BuildRequest in one place:
`--jobs` and the CA options default to the settings ($KFIMAGES_JOBS, $KFIMAGES_CA_CERT,
$KFIMAGES_BAKE_CA), `--platform` is checked (kfimages.platforms.parse)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kfimages import platforms
from kfimages.build.ca import collect_ca_files
from kfimages.build.plan import BuildRequest
from kfimages.settings import Settings, parse_jobs


def make_request(
    *,
    settings: Settings,
    jobs: int | str | None = None,
    ca_cert: Sequence[str] = (),
    bake_ca: Sequence[str] = (),
    platform: str = "",
    **fields: Any,
) -> BuildRequest:
    """A BuildRequest from a task's options; `fields` are the other BuildRequest fields."""
    return BuildRequest(
        jobs=settings.jobs if jobs is None else parse_jobs(jobs),
        ca_files=tuple(collect_ca_files(ca_cert, default=settings.ca_cert)),
        bake_ca_files=tuple(collect_ca_files(bake_ca, default=settings.bake_ca)),
        platforms=platforms.parse(platform),
        **fields,
    )

"""Which ref keeps the image a moving ref replaced (kfimages.build.retag.previous_ref): only
`latest` and another platform's `latest-<arch>` have a `previous`."""

from __future__ import annotations

import pytest

from kfimages.build.retag import previous_ref


@pytest.mark.parametrize(
    ("ref", "previous"),
    [
        ("kfnb/jupyter:latest", "kfnb/jupyter:previous"),
        ("kfnb/jupyter:latest-arm64", "kfnb/jupyter:previous-arm64"),
        ("localhost:5000/team/base:latest", "localhost:5000/team/base:previous"),
        ("jupyter:latest", "jupyter:previous"),
        ("kfnb/jupyter:sha-0123456789ab", None),
        ("kfnb/jupyter:latestish", None),
        ("kfnb/jupyter:v1", None),
        ("localhost:5000/team/base", None),
    ],
)
def test_only_latest_refs_have_a_previous(ref: str, previous: str | None) -> None:
    assert previous_ref(ref) == previous

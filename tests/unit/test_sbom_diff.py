"""What changed between two inventories (kfimages.ship.diff): packages, content tags, size,
as text and Markdown; and SBOM files as its input."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfimages.errors import UserError
from kfimages.ship.diff import Change, diff, load, package_changes, render_markdown, render_text
from kfimages.ship.packages import Package
from kfimages.ship.sbom import ImageFacts, Inventory, render


def pkg(ecosystem: str, name: str, version: str, location: str = "") -> Package:
    return Package(ecosystem, name, version, f"pkg:{ecosystem}/{name}@{version}", "",
                   location)  # fmt: skip


OLD = [
    pkg("deb", "bash", "5.2.37-2"),
    pkg("deb", "libc6", "2.41-12+deb13u5"),
    pkg("deb", "gone", "1.0-1"),
    pkg("pypi", "Jinja2", "3.1.6"),
    pkg("pypi", "torch", "2.11.0"),
    pkg("npm", "debug", "4.3.4", "a/node_modules/debug"),
    pkg("npm", "debug", "2.6.9", "b/node_modules/debug"),
    pkg("npm", "ms", "2.1.3", "a/node_modules/ms"),
    pkg("npm", "ms", "2.0.0", "b/node_modules/ms"),
]
NEW = [
    pkg("deb", "bash", "5.2.37-2+b10"),
    pkg("deb", "libc6", "2.41-12+deb13u5"),
    pkg("pypi", "jinja2", "3.1.6"),  # another spelling of the same name: no change
    pkg("pypi", "torch", "2.10.1"),
    pkg("pypi", "jupyterlab", "4.6.6"),
    pkg("npm", "debug", "4.3.4", "a/node_modules/debug"),
    pkg("npm", "debug", "2.6.9", "b/node_modules/debug"),
    pkg("npm", "debug", "3.2.7", "c/node_modules/debug"),  # one more copy
    pkg("npm", "ms", "2.1.3", "a/node_modules/ms"),
    pkg("npm", "ms", "2.1.2", "b/node_modules/ms"),
    pkg("npm", "ms", "2.1.1", "c/node_modules/ms"),
]


def test_package_changes() -> None:
    assert package_changes(OLD, NEW) == [
        Change("upgraded", "deb", "bash", "5.2.37-2", "5.2.37-2+b10", "patch"),
        Change("downgraded", "pypi", "torch", "2.11.0", "2.10.1", "minor"),
        Change("changed", "npm", "ms", "2.0.0", "2.1.1, 2.1.2", ""),
        Change("added", "pypi", "jupyterlab", "", "4.6.6", ""),
        Change("added", "npm", "debug", "", "3.2.7", ""),
        Change("removed", "deb", "gone", "1.0-1", "", ""),
    ]


def test_no_change() -> None:
    assert package_changes(OLD, list(reversed(OLD))) == []


def facts(ref: str, *, size: int | None, tags: tuple[str, ...]) -> ImageFacts:
    return ImageFacts(ref=ref, image_id=f"sha256:{ref[-1] * 64}", platform="linux/amd64",
                      size=size, content_tags=tags)  # fmt: skip


def test_text_and_markdown() -> None:
    old = Inventory(
        facts(
            "kfnb/jupyter:a", size=539_000_000, tags=("2026-12-01", "lab-4.6.6", "python-3.13.5")
        ),
        tuple(OLD),
    )
    new = Inventory(facts("kfnb/jupyter:b", size=541_100_000,
                          tags=("2026-12-03", "lab-4.6.6", "python-3.13.6", "torch-2.10.1")),
                    tuple(NEW))  # fmt: skip
    d = diff(old, new)
    assert d.tags == (
        ("2026-12-01", "2026-12-03"),
        ("python-3.13.5", "python-3.13.6"),
        ("", "torch-2.10.1"),
    )
    text = render_text(d)
    assert text.splitlines()[:5] == [
        "old: kfnb/jupyter:a  sha256:aaaaaaaaaaaa  linux/amd64",
        "new: kfnb/jupyter:b  sha256:bbbbbbbbbbbb  linux/amd64",
        "size: 539.0 MB -> 541.1 MB (+2.1 MB)",
        "content tags: 2026-12-01 -> 2026-12-03, python-3.13.5 -> python-3.13.6, "
        "(none) -> torch-2.10.1",
        "packages: 1 upgraded, 1 downgraded, 1 changed, 2 added, 1 removed",
    ]
    assert "upgraded    deb   bash        5.2.37-2  5.2.37-2+b10  patch" in text
    markdown = render_markdown(d)
    assert (
        "- Content tags: `2026-12-01` → `2026-12-03`, `python-3.13.5` → `python-3.13.6`, "
        "(none) → `torch-2.10.1`\n"
    ) in markdown
    assert "- Size: 539.0 MB → 541.1 MB (+2.1 MB)" in markdown
    assert "### Upgraded (1)\n\n| type | package | old | new | kind |\n|---|---|---|---|---|\n" \
        "| deb | bash | 5.2.37-2 | 5.2.37-2+b10 | patch |\n" in markdown  # fmt: skip
    assert "### Removed (1)\n\n| type | package | version |\n|---|---|---|\n| deb | gone | " \
        "1.0-1 |" in markdown  # fmt: skip


def test_sides_without_size_or_tags_leave_them_out() -> None:
    old = Inventory(facts("a", size=None, tags=()), (pkg("pypi", "x", "1.0"),))
    new = Inventory(facts("b", size=5, tags=("python-3.13.5",)), (pkg("pypi", "x", "1.0"),))
    text = render_text(diff(old, new))
    assert "size" not in text
    assert "content tags" not in text
    assert text.endswith("packages: no change\n")
    assert "- Packages: no change" in render_markdown(diff(old, new))


def test_sbom_files_as_diff_input(tmp_path: Path) -> None:
    old = Inventory(facts("kfnb/x:a", size=100, tags=("python-3.13.5",)), tuple(OLD))
    new = Inventory(facts("kfnb/x:b", size=90, tags=("python-3.13.5",)), tuple(NEW))
    (tmp_path / "old.cdx.json").write_text(render(old), encoding="utf-8")
    (tmp_path / "new.cdx.json").write_text(render(new), encoding="utf-8")
    from_files = diff(load(str(tmp_path / "old.cdx.json"), which="OLD"),
                      load(str(tmp_path / "new.cdx.json"), which="NEW"))  # fmt: skip
    assert from_files.changes == diff(old, new).changes
    assert from_files.old.size == 100
    assert from_files.tags_compared
    assert from_files.tags == ()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("not json", "not JSON"),
        ('{"spdxVersion": "SPDX-2.3"}', 'no "bomFormat": "CycloneDX"'),
        ('{"bomFormat": "CycloneDX", "specVersion": "0.9"}', "unknown specVersion '0.9'"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": 3}', "schema 1.6:"),
    ],
)
def test_a_file_that_is_not_cyclonedx(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "doc.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load(str(path), which="OLD")
    message = str(caught.value)
    assert message.startswith(f"{path} is not a CycloneDX JSON document ({why}")
    assert message.endswith("pass an SBOM that `invoke sbom` wrote, or an image ref")
    assert "\n" not in message


def test_a_missing_sbom_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^NEW .*/absent\.cdx\.json: no such SBOM file; pass"):
        load(str(tmp_path / "absent.cdx.json"), which="NEW")

"""`invoke new`: plans and writes a new sibling image, validating everything before writing.

`invoke new NAME --parent PARENT` writes

    NAME/Dockerfile                      ARG BASE_IMG=PARENT, description, s6 files, USER 1000
    NAME/s6/services.d/NAME/run          a placeholder service that stays up (edit it)
    NAME/image.yaml                      the parent's size budget, commented keys
    NAME/README.md                       what to edit where
    tests/images/NAME/__init__.py        its smoke tests (base's contract tests run too); no
    tests/images/NAME/test_NAME.py       __init__.py when NAME is no Python identifier (a `-`):
                                         then test_NAME.py (`-` as `_`) is a top-level module
                                         and its name must be unique (pyproject.toml, mypy)
    README.md                            the image chart, regenerated (kfimages.author.chart)

`--variant V` names the Dockerfile `NAME/V.Dockerfile` (image `NAME.V`). NAME may then
already be an image folder: only `NAME/V.Dockerfile` (and the chart) is written, because a
folder's s6/, image.yaml, README.md and tests/images/NAME/ are shared by its variants.
Any bad input is one UserError naming the fix, and then nothing is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from kfimages.author import chart
from kfimages.author import templates as tpl
from kfimages.errors import UserError
from kfimages.names import NAME_RE, PSEUDO_NAMES
from kfimages.repo.config import ImageConfig
from kfimages.repo.graph import DOCKERFILE, TESTS_DIR, VARIANT_SUFFIX, Graph, Image, load_graph

log = logging.getLogger(__name__)

FILE_MODE = 0o644
SCRIPT_MODE = 0o755


class Planned(NamedTuple):
    """One file to write: its text and its mode."""

    text: str
    mode: int


@dataclass(frozen=True)
class _Target:
    """The validated new image."""

    image: Image
    new_folder: bool


def _check_word(*, what: str, value: str, example: str) -> None:
    if not NAME_RE.match(value):
        raise UserError(
            f"'{value}' is not a valid {what}; use lower-case letters, digits, '-' and '_', "
            f"starting with a letter or digit (e.g. {example})"
        )


def _check_name(name: str) -> None:
    if not name:
        raise UserError("name the new image: invoke new NAME --parent PARENT")
    if "." in name:
        folder, _, variant = name.partition(".")
        raise UserError(
            f"'{name}' is not a folder name; for a variant write: "
            f"invoke new {folder} --variant {variant} --parent PARENT"
        )
    _check_word(what="image name", value=name, example="myide")
    if name in PSEUDO_NAMES:
        raise UserError(f"'{name}' is a pseudo-name of `invoke build`; choose another name")


def _check_parent(graph: Graph, parent: str) -> None:
    valid = ", ".join(sorted(graph.images)) or "(none)"
    if not parent:
        raise UserError(f"--parent is required; choose one of: {valid}")
    if parent not in graph.images:
        raise UserError(f"unknown parent '{parent}'; choose one of: {valid} (see invoke list)")


def _check_folder(graph: Graph, *, name: str, variant: str | None) -> bool:
    """True when the folder is new; an existing one is allowed only for a new variant."""
    folders = {i.folder for i in graph.images.values()}
    path = graph.root / name
    if not path.exists() and not path.is_symlink():
        tests = graph.root / TESTS_DIR / name
        if tests.exists():
            raise UserError(f"{TESTS_DIR}/{name}/ already exists; remove it or choose another name")
        _check_test_module(graph, name)
        return True
    if name not in folders:
        raise UserError(f"'{name}' already exists and is not an image folder; choose another name")
    if variant is None:
        raise UserError(
            f"image folder '{name}/' already exists; choose another name, "
            "or add a variant to it with --variant V"
        )
    image = graph.images.get(f"{name}.{variant}")
    if image is not None:
        raise UserError(
            f"image '{image.name}' already exists ({image.dockerfile}); choose another variant"
        )
    return False


def _check_test_module(graph: Graph, folder: str) -> None:
    """A test folder that is no package holds top-level modules, named by their file alone:
    the new one must not share its name with another test module (mypy and pytest would
    take one for the other)."""
    if tpl.is_package(folder):
        return
    module = tpl.smoke_module_name(folder)
    for other in sorted((graph.root / TESTS_DIR).rglob(module)):
        rel = other.relative_to(graph.root).as_posix()
        raise UserError(
            f"{rel} already exists, and {TESTS_DIR}/{folder}/ (no Python package: '{folder}' is "
            f"no identifier) would hold another top-level module {module}; choose another name"
        )


def _check_repository(graph: Graph, image: Image) -> None:
    for other in graph.images.values():
        if other.repository == image.repository:
            raise UserError(
                f"image '{image.name}' would be the repository '{image.repository}', which "
                f"'{other.name}' ({other.dockerfile}) already is; choose another name"
            )


def _validate(graph: Graph, *, name: str, parent: str, variant: str | None) -> _Target:
    _check_name(name)
    if variant is not None:
        _check_word(what="variant name", value=variant, example="cpu")
    _check_parent(graph, parent)
    new_folder = _check_folder(graph, name=name, variant=variant)
    dockerfile = DOCKERFILE if variant is None else f"{variant}{VARIANT_SUFFIX}"
    image = Image(
        name=name if variant is None else f"{name}.{variant}",
        folder=name,
        variant=variant,
        dockerfile=f"{name}/{dockerfile}",
        parent=parent,
        config=ImageConfig(),
    )
    _check_repository(graph, image)
    return _Target(image=image, new_folder=new_folder)


def _names(graph: Graph, image: Image) -> tpl.Names:
    parent = graph.images[image.parent]
    readme = f"{parent.folder}/README.md"
    return tpl.Names(
        image=image.name,
        folder=image.folder,
        dockerfile=image.dockerfile,
        parent=parent.name,
        parent_readme=f"../{readme}" if (graph.root / readme).is_file() else None,
        size_budget_mb=parent.config.size_budget_mb,
    )


def _folder_files(names: tpl.Names) -> dict[str, Planned]:
    package = (
        {names.tests_init: Planned(tpl.tests_package_init(names), FILE_MODE)}
        if tpl.is_package(names.folder)
        else {}
    )
    return {
        names.dockerfile: Planned(tpl.dockerfile(names, with_s6=True), FILE_MODE),
        names.run_script: Planned(tpl.service_run(names), SCRIPT_MODE),
        f"{names.folder}/image.yaml": Planned(tpl.image_yaml(names), FILE_MODE),
        f"{names.folder}/README.md": Planned(tpl.readme(names), FILE_MODE),
        **package,
        names.test_module: Planned(tpl.smoke_tests(names), FILE_MODE),
    }


def _chart_file(graph: Graph, image: Image) -> dict[str, Planned]:
    """README.md with the chart of the graph that includes the new image."""
    readme = graph.root / chart.README
    if not readme.is_file():
        raise UserError(f"{chart.README} is missing at {graph.root}; the image chart lives there")
    grown = Graph(root=graph.root, images=MappingProxyType({**graph.images, image.name: image}))
    text = chart.updated_readme(readme.read_text(encoding="utf-8"), graph=grown)
    return {chart.README: Planned(text, readme.stat().st_mode & 0o7777)}


def plan_scaffold(
    graph: Graph, *, name: str, parent: str, variant: str | None = None
) -> dict[str, Planned]:
    """The files `invoke new` writes (repository-relative path -> text and mode).

    Raises UserError (one line naming the fix) for an invalid or existing name or variant,
    an unknown parent, or a README.md without chart markers. Reads, never writes.
    """
    target = _validate(graph, name=name, parent=parent, variant=variant)
    names = _names(graph, target.image)
    if target.new_folder:
        files = _folder_files(names)
    else:
        with_s6 = (graph.root / target.image.folder / "s6").is_dir()
        files = {names.dockerfile: Planned(tpl.dockerfile(names, with_s6=with_s6), FILE_MODE)}
    return {**files, **_chart_file(graph, target.image)}


def write_scaffold(
    graph: Graph, *, name: str, parent: str, variant: str | None = None
) -> list[str]:
    """Write the planned files under `graph.root` (nothing on bad input); their paths."""
    files = plan_scaffold(graph, name=name, parent=parent, variant=variant)
    for rel, planned in files.items():
        path = graph.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(planned.text, encoding="utf-8")
        path.chmod(planned.mode)
        log.info("wrote %s", rel)
    image = load_graph(graph.root).get(name if variant is None else f"{name}.{variant}")
    log.info("new image %s (parent %s): invoke build %s", image.name, image.parent, image.name)
    return list(files)

"""Every build's reports: the SBOM (CycloneDX, kfimages.ship.sbom) and the build manifest
(Markdown, kfimages.ship.manifest) of each image of the plan, per platform, in one folder that
the build's summary names.

`invoke build` and `invoke smoke` pass `writer(...)` to `kfimages.build.run.build_images`,
which calls it once the plan was built (and pushed: an SBOM then names the registry
digests). The folder is `--reports DIR`, by default `artifacts/reports/<first tag>` of the
repository (`sha-<12 hex>[-dirty]`, `latest` for smoke; `artifacts/` is git-ignored, so the
tree stays clean for `--push`). Files: `<name>.cdx.json` and `<name>.md`, another platform's
`<name>@<arch>.cdx.json` and `<name>@<arch>.md`, as `invoke sbom` and `invoke manifest`
name them. An image whose two files are there already and name the same image (ID, ref and
registry digests) is not read again, so building again at the same tag writes nothing new
(a new commit's `sha-` folder is written anew). A report that cannot be made fails the build
(exit 1), naming the image.

Cost: the SBOM reads the image's whole exported file system (measured here, shared 2-core
machine: base 12 s, jupyter 20 s, codeserver 22 s, jupyter-pytorch-full 52 s, each including
about 5 s of schema set-up once per process) and the manifest runs one container (2 s).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from kfimages import engine
from kfimages.build.plan import Step
from kfimages.build.report import BuildReport
from kfimages.build.run import Reporter
from kfimages.build.stop import STOP
from kfimages.errors import UserError
from kfimages.ship import manifest, sbom

log = logging.getLogger(__name__)

REPORTS = Path("artifacts") / "reports"
"""Where a build's reports go by default, under the repository (then `<first tag>/`)."""


def default_folder(root: Path, steps: Sequence[Step]) -> Path:
    """`<root>/artifacts/reports/<first tag>` of a plan (its host-platform tag)."""
    first = steps[0]
    tag = first.ref.rpartition(":")[2]
    return root / REPORTS / (tag.removesuffix(first.suffix) if first.suffix else tag)


def files(folder: Path, name: str) -> tuple[Path, Path]:
    """The SBOM and the manifest of a step name (`jupyter`, `jupyter@arm64`) in `folder`."""
    return sbom.sbom_file(folder, name), folder / f"{name}.md"


def _current(folder: Path, name: str, ref: str) -> bool:
    """Whether both files of `name` are there and name the image `ref` names now."""
    doc_path, manifest_path = files(folder, name)
    if not (doc_path.is_file() and manifest_path.is_file()):
        return False
    data = engine.inspect_image(ref) or {}
    try:
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        props = doc["metadata"]["properties"]
    except (ValueError, KeyError, TypeError):
        return False
    found: dict[str, list[str]] = {}
    for prop in props:
        found.setdefault(str(prop.get("name", "")), []).append(str(prop.get("value", "")))
    return (
        found.get(f"{sbom.PROPERTY}ref") == [ref]
        and found.get(f"{sbom.PROPERTY}id") == [str(data.get("Id", ""))]
        and found.get(f"{sbom.PROPERTY}repo-digest", []) == list(data.get("RepoDigests") or [])
    )


def write_one(folder: Path, *, name: str, ref: str) -> bool:
    """Write the SBOM and the manifest of one image unless they are current; whether written."""
    if _current(folder, name, ref):
        return False
    doc_path, manifest_path = files(folder, name)
    inventory = sbom.read_image(ref)
    doc_path.write_text(sbom.render(inventory), encoding="utf-8")
    image = name.partition("@")[0]
    read = manifest.read_manifest(name=image, ref=ref)
    manifest_path.write_text(manifest.render_markdown(read), encoding="utf-8")
    log.info("%s: SBOM (%s) and manifest written", name, sbom.describe(inventory))
    return True


def writer(*, folder: Path | None, root: Path) -> Reporter:
    """The reporter of a build: writes the reports of every image of the plan that was built
    or reused into `folder` (None: `default_folder`), and adds the summary's line naming it
    (and a line per image whose reports failed, which fails the build)."""

    def write(steps: Sequence[Step], report: BuildReport) -> None:
        if not steps or STOP.requested:
            return
        target = folder if folder is not None else default_folder(root, steps)
        target.mkdir(parents=True, exist_ok=True)
        results = report.by_name()
        written: list[str] = []
        kept: list[str] = []
        for step in steps:
            result = results.get(step.name)
            if result is None or not result.status.ok:
                continue
            try:
                done = write_one(target, name=step.name, ref=step.ref)
            except (UserError, OSError) as exc:
                report.reports_failed = True
                report.notes.append(f"reports of {step.name}: {str(exc).splitlines()[0]}")
                continue
            (written if done else kept).append(step.name)
        detail = "; ".join(
            f"{what} {', '.join(names)}" for what, names in (("written", written),
                                                             ("unchanged", kept)) if names
        )  # fmt: skip
        report.notes.append(f"reports (SBOM, manifest): {target}/ ({detail or 'none'})")

    return write

"""`invoke manifest`: a Markdown build manifest read from a built image.

What the image really holds, not what its Dockerfile asked for: its ref, image ID and
registry digests per platform, size, creation time, OS release, the Debian packages, the
Python packages (of the `python3` first on the image's PATH), code-server and its
extensions, the R packages, and the labels. Everything comes from `docker image inspect`
and one throwaway container of the image (`--network none`, `/bin/sh` as entrypoint, the
image's own user); a section the image has nothing for says so.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfimages import engine, platforms
from kfimages.build.plan import expand_names, step_name
from kfimages.errors import UserError
from kfimages.names import BUILT, SETS, Names, parse
from kfimages.repo.graph import Graph, image_ref
from kfimages.tables import markdown_table

log = logging.getLogger(__name__)

_MARK = "@@kfimages-section "
PROBE = r"""
echo '@@kfimages-section os-release'; cat /etc/os-release 2>/dev/null
echo '@@kfimages-section debian'
dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\n' 2>/dev/null | sed -n 's/^ii *\t//p'
echo '@@kfimages-section python'
python3 -c 'import importlib.metadata as m
for d in m.distributions(): print(d.metadata["Name"], d.version, sep="\t")' 2>/dev/null
echo '@@kfimages-section code-server'; code-server --version 2>/dev/null | head -n 1
echo '@@kfimages-section code-server-extensions'
code-server --list-extensions --show-versions 2>/dev/null | sed 's/@/\t/'
echo '@@kfimages-section r'
Rscript -e 'p <- installed.packages()[, c("Package", "Version")]
write.table(p, sep = "\t", quote = FALSE, row.names = FALSE, col.names = FALSE)' 2>/dev/null
echo '@@kfimages-section end'
"""
"""The script of the manifest's container: one marked section per kind of package."""

Package = tuple[str, str]
Runner = Callable[[str, str], tuple[int, str]]
Inspector = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True)
class Manifest:
    """What one built image holds."""

    name: str
    ref: str
    image_id: str
    platform: str
    repo_digests: tuple[str, ...]
    size: int
    created: str
    labels: Mapping[str, str] = field(default_factory=dict)
    os_release: Mapping[str, str] = field(default_factory=dict)
    debian: tuple[Package, ...] = ()
    python: tuple[Package, ...] = ()
    code_server: str = ""
    extensions: tuple[Package, ...] = ()
    r: tuple[Package, ...] = ()


def split_sections(output: str) -> dict[str, list[str]]:
    """The probe's output -> section name -> its non-empty lines."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in output.splitlines():
        if line.startswith(_MARK):
            current = line[len(_MARK) :].strip()
            sections[current] = []
        elif current and line.strip():
            sections[current].append(line.rstrip())
    return sections


def parse_packages(lines: Sequence[str]) -> tuple[Package, ...]:
    """`name<TAB>version` lines -> sorted unique (name, version) pairs."""
    pairs = set()
    for line in lines:
        name, _, version = line.partition("\t")
        if name.strip() and version.strip():
            pairs.add((name.strip(), version.strip()))
    return tuple(sorted(pairs, key=lambda p: (p[0].lower(), p[1])))


def parse_os_release(lines: Sequence[str]) -> dict[str, str]:
    """`KEY=value` lines of os-release(5), quotes removed."""
    out = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip().strip("\"'")
    return out


def read_manifest(
    *,
    name: str,
    ref: str,
    run: Runner = engine.run_in_image,
    inspect: Inspector = engine.inspect_image,
) -> Manifest:
    """Inspect the local image `ref` and read its packages in one container."""
    data = inspect(ref)
    if data is None:
        raise UserError(f"{name}: no local image {ref}; build it first (invoke build {name})")
    code, output = run(ref, PROBE)
    sections = split_sections(output)
    if "end" not in sections:
        raise UserError(f"{name}: the manifest probe failed in {ref} (exit {code}): "
                        f"{output.strip()[-200:]}")  # fmt: skip
    config = data.get("Config") or {}
    variant = f"/{data['Variant']}" if data.get("Variant") else ""
    server = sections.get("code-server", [])
    return Manifest(
        name=name,
        ref=ref,
        image_id=str(data.get("Id", "")),
        platform=f"{data.get('Os', '')}/{data.get('Architecture', '')}{variant}",
        repo_digests=tuple(data.get("RepoDigests") or ()),
        size=int(data.get("Size") or 0),
        created=str(data.get("Created", "")),
        labels=dict(config.get("Labels") or {}),
        os_release=parse_os_release(sections.get("os-release", [])),
        debian=parse_packages(sections.get("debian", [])),
        python=parse_packages(sections.get("python", [])),
        code_server=server[0].split()[0] if server else "",
        extensions=parse_packages(sections.get("code-server-extensions", [])),
        r=parse_packages(sections.get("r", [])),
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, none: str) -> list[str]:
    """A Markdown table and a blank line; `_none_` when there are no rows."""
    return [*markdown_table(headers, rows), ""] if rows else [f"_{none}_", ""]


def _packages(title: str, packages: Sequence[Package], *, none: str) -> list[str]:
    head = f"## {title} ({len(packages)})" if packages else f"## {title}"
    return [head, "", *_table(("package", "version"), packages, none=none)]


def render_markdown(m: Manifest) -> str:
    """The manifest as Markdown."""
    os_name = m.os_release.get("PRETTY_NAME", "unknown")
    digests = ", ".join(f"`{d}`" for d in m.repo_digests) or "(not pushed)"
    lines = [
        f"# Build manifest: {m.name}",
        "",
        *_table(
            ("platform", "ref", "image ID", "registry digest"),
            [(m.platform, f"`{m.ref}`", f"`{m.image_id}`", digests)],
            none="",
        ),
        f"- size: {m.size / 1e6:.0f} MB ({m.size} bytes, uncompressed)",
        f"- created: {m.created}",
        f"- OS: {os_name}",
        "",
        *_packages("Debian packages", m.debian, none="none"),
        *_packages("Python packages", m.python, none="no python3 on PATH"),
        "## code-server",
        "",
        f"code-server {m.code_server}" if m.code_server else "_none_",
        "",
        *_packages("code-server extensions", m.extensions, none="none"),
        *_packages("R packages", m.r, none="no R"),
        "## Labels",
        "",
        *_table(("label", "value"), sorted(m.labels.items()), none="none"),
    ]
    return "\n".join(lines).rstrip() + "\n"


def write_manifests(manifests: Sequence[Manifest], *, output: Path) -> list[Path]:
    """One `<repository-ish name>.md` per manifest in `output` (created)."""
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for m in manifests:
        path = output / f"{m.name}.md"
        path.write_text(render_markdown(m), encoding="utf-8")
        written.append(path)
    return written


def check_output(names: Names, *, output: str) -> None:
    """One image prints its manifest; several need a folder (one file each)."""
    if not names.single and not output:
        raise UserError("several images need --output DIR (one file per image)")


def local_refs(
    graph: Graph,
    names: Names,
    *,
    registry: str,
    tag: str,
    platform: str,
    inspect: Inspector = engine.inspect_image,
) -> tuple[dict[str, str], list[str]]:
    """The images of a manifest run, parents first: name -> local ref, on `platform` (another
    one than the host's: `<name>@<arch>` -> its `<tag>-<arch>` ref). With `built`, also every
    image of the repository that exists locally; the names of those that do not come second
    (skipped). An image named otherwise must exist (read_manifest says how to build it)."""
    host = platforms.host_platform()
    named = expand_names(graph, names.without(BUILT).words, base_ref=names.base_ref)
    extra = sorted(set(graph.images) - set(named)) if names.has(BUILT) else []

    def ref(name: str) -> str:
        return platforms.qualify(
            image_ref(graph.get(name), registry=registry, tag=tag), platform, host=host
        )

    missing = {n for n in extra if inspect(ref(n)) is None}
    images = graph.build_order([*named, *(n for n in extra if n not in missing)])
    refs = {step_name(i.name, platform, host=host): ref(i.name) for i in images}
    skipped = [step_name(i.name, platform, host=host) for i in graph.build_order(missing)]
    return refs, skipped


def read_names(graph: Graph, value: str | None, *, base: str) -> Names:
    """The NAMES of a task that reads built images: the grammar's words plus `built`."""
    return parse(value, known=graph.images, base=base, takes=(*SETS, BUILT))


def built_refs(
    graph: Graph,
    selected: Names,
    *,
    registry: str,
    tag: str,
    platform: str,
    task: str,
) -> dict[str, str]:
    """The local refs of the images a task that reads built images is given (NAMES with
    `built`, see local_refs), parents first; the images `built` finds missing are named on
    stderr, an image named otherwise that is missing is a UserError."""
    target = platforms.parse_one(platform, what=f"`invoke {task}` reads")
    engine.check_docker()
    refs, skipped = local_refs(graph, selected, registry=registry, tag=tag, platform=target)
    if skipped:
        print(f"{task}: not built, skipped: {', '.join(skipped)}", file=sys.stderr)
    missing = [f"{n} ({r})" for n, r in refs.items() if engine.inspect_image(r) is None]
    if missing:
        raise UserError(
            f"no local image {', '.join(missing)}; build it first (invoke build "
            "NAME), or pass the --registry/--tag/--platform it was built with"
        )
    return refs

"""Content tags, docker-stacks style: `python-3.13.5`, `lab-4.6.1`, `torch-2.11.0`, `cuda-13.0`,
`2026-11-27` ... read from what a built image holds, after its build.

An image's `image.yaml` names the taggers that apply (`taggers: [python, lab]`); the list
edits its parent's effective list (`name` adds one, `-name` drops an inherited one), so a
child tags what it inherited too. After a build, every tagger of the image runs its command
in **one** throwaway container of the image (`--network none`, `/bin/sh` as entrypoint), its
version is parsed from the output, and the image gets the local ref
`<registry>/<repository>:<tag>` for each: that ref is where the content tags are kept (a label
cannot be added after the build). A reused image already carries its content tags locally:
they are found among its refs, no container runs (only an image that carries none of them,
e.g. one built before its taggers were configured, is read again). Content tags move with
rebuilds: `kfimages.ship.push` pushes them with the moving tags, after every `sha-...` tag.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kfimages import engine
from kfimages.errors import UserError
from kfimages.repo.config import CONFIG_FILE
from kfimages.repo.graph import Graph

log = logging.getLogger(__name__)

CREATED_LABEL = "org.opencontainers.image.created"
_MARK = "@@kfimages-tagger"
_RC = "@@kfimages-rc"
_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})")

Runner = Callable[[str, str], tuple[int, str]]
"""(image ref, shell script) -> (exit code, output): engine.run_in_image in real runs."""


class TaggerError(UserError):
    """A tagger could not read its version from an image."""


@dataclass(frozen=True)
class Tagger:
    """Reads one version from an image and turns it into a tag `<prefix><version>`."""

    name: str
    prefix: str
    command: str
    """Shell command run in the image; empty: the tagger reads the image's labels instead."""
    pattern: str
    """Regex matched at the start of the output's lines (the first match wins); its group 1
    is the version."""
    absent: str = ""
    """Output meaning "the image has none" (no tag, no error), e.g. a CPU-only torch's CUDA."""

    def tag(self, version: str) -> str:
        return f"{self.prefix}{version}"

    def owns(self, tag: str) -> bool:
        """Whether `tag` is one this tagger gives (how a reused image's tags are found)."""
        if not self.prefix:
            return _DATE_RE.fullmatch(tag) is not None
        rest = tag.removeprefix(self.prefix)
        return rest != tag and re.fullmatch(r"\d[0-9.]*", rest) is not None


_PY = "python3 -c"
_VERSION = r"(\d+\.\d+\.\d+)"
# Versions are read from metadata, never by importing the package: an import of jupyterlab
# took 2 min 30 s in a linux/arm64 container under QEMU here, reading its metadata 7 s.
_DIST = f"{_PY} 'from importlib.metadata import version; print(version(\"{{}}\"))'"
_TORCH = (  # torch/version.py (what torch.__version__ and torch.version.cuda are) run alone
    f'{_PY} \'import runpy, sysconfig; v = runpy.run_path(sysconfig.get_paths()["purelib"]'
    f' + "/torch/version.py"); print({{}})\''
)
TAGGERS: Mapping[str, Tagger] = {
    t.name: t
    for t in (
        Tagger("date", "", "", r"(\d{4}-\d{2}-\d{2})"),
        Tagger("debian", "debian-", '. /etc/os-release && echo "$VERSION_ID"', r"(\d+)"),
        Tagger("python", "python-", f"{_PY} 'import platform; print(platform.python_version())'",
               _VERSION),
        Tagger("lab", "lab-", _DIST.format("jupyterlab"), _VERSION),
        Tagger("code-server", "code-server-", "code-server --version", _VERSION),
        Tagger("torch", "torch-", _TORCH.format('v[\"__version__\"]'), _VERSION),
        Tagger("cuda", "cuda-", _TORCH.format('v[\"cuda\"] or \"none\"'),
               r"(\d+\.\d+)", absent="none"),
        Tagger("r", "r-", "Rscript -e 'cat(format(getRversion()), \"\\n\")'", _VERSION),
    )
}  # fmt: skip
"""The built-in taggers by name (what `image.yaml` `taggers:` may name)."""


def resolve(graph: Graph, name: str) -> tuple[Tagger, ...]:
    """The taggers of image `name`: its ancestors' `taggers` edits applied root first, then
    its own (`x` adds x, `-x` drops an inherited x); an unknown name is an error."""
    names: list[str] = []
    for image in [*graph.ancestors(name), graph.get(name)]:
        where = f"{image.folder}/{CONFIG_FILE}"
        for edit in image.config.taggers:
            tagger = edit.removeprefix("-")
            if tagger not in TAGGERS:
                raise UserError(
                    f"{where}: unknown tagger '{tagger}'; known: {', '.join(sorted(TAGGERS))}"
                )
            if edit.startswith("-"):
                if tagger not in names:
                    raise UserError(f"{where}: '-{tagger}' drops a tagger no parent applies")
                names.remove(tagger)
            elif tagger not in names:
                names.append(tagger)
    return tuple(TAGGERS[n] for n in names)


def probe_script(taggers: Sequence[Tagger]) -> str:
    """One shell script running every command tagger, each output between markers."""
    parts = [
        f"echo '{_MARK} {t.name}'; ( {t.command} ) 2>&1; echo \"{_RC} $?\""
        for t in taggers
        if t.command
    ]
    return "\n".join(parts)


def split_probe(output: str) -> dict[str, tuple[int, str]]:
    """The probe's output -> tagger name -> (exit code, its output)."""
    found: dict[str, tuple[int, str]] = {}
    current, lines = "", list[str]()
    for line in output.splitlines():
        if line.startswith(_MARK + " "):
            current, lines = line.split(" ", 1)[1], []
        elif line.startswith(_RC + " ") and current:
            code = line.split(" ", 1)[1].strip()
            found[current] = (int(code) if code.isdigit() else 1, "\n".join(lines).strip())
            current = ""
        elif current:
            lines.append(line)
    return found


def parse_version(tagger: Tagger, *, output: str, code: int, image: str) -> str | None:
    """The version a tagger read (None: the image has none), or a TaggerError naming the
    image and the command."""
    text = output.strip()
    if code == 0 and tagger.absent and text == tagger.absent:
        return None
    lines = text.splitlines() if code == 0 else []
    match = next((m for line in lines if (m := re.match(tagger.pattern, line.strip()))), None)
    if match is None:
        shown = text.splitlines()[-1][:160] if text else "nothing"
        raise TaggerError(
            f"{image}: tagger '{tagger.name}' could not read a version: "
            f"`{tagger.command or 'label ' + CREATED_LABEL}` (in `docker run --rm --network "
            f"none --entrypoint /bin/sh <image> -c ...`) exited {code} and printed {shown!r}"
        )
    return match.group(1)


def read_tags(
    ref: str,
    taggers: Sequence[Tagger],
    *,
    image: str,
    labels: Mapping[str, str],
    run: Runner = engine.run_in_image,
) -> list[str]:
    """Every content tag of a local image: one container for all command taggers."""
    results = {}
    if any(t.command for t in taggers):
        code, output = run(ref, probe_script(taggers))
        results = split_probe(output)
        if code != 0 and not results:  # the container did not even start
            raise TaggerError(f"{image}: cannot run a container of {ref} to read its tags: "
                              f"{output.strip()[-200:]}")  # fmt: skip
    tags = []
    for tagger in taggers:
        if tagger.command:
            code, output = results.get(tagger.name, (1, "(no output: the probe stopped)"))
        else:
            code, output = (0, labels.get(CREATED_LABEL, "")) if tagger.name == "date" else (1, "")
        version = parse_version(tagger, output=output, code=code, image=image)
        if version is not None:
            tags.append(tagger.tag(version))
    return tags


def kept_refs(
    ref: str, taggers: Sequence[Tagger], *, refs: Sequence[str], suffix: str = ""
) -> list[str]:
    """The refs among `refs` (a local image's RepoTags) of `ref`'s repository that carry
    a content tag of `taggers` (followed by the platform's tag `suffix`)."""
    repository = ref.rsplit(":", 1)[0]
    out = []
    for other in refs:
        repo, _, tag = other.rpartition(":")
        if suffix and not tag.endswith(suffix):
            continue
        tag = tag.removesuffix(suffix) if suffix else tag
        if repo == repository and any(t.owns(tag) for t in taggers):
            out.append(other)
    return sorted(out)


def content_refs(
    ref: str, taggers: Sequence[Tagger], *, image: str, reused: bool, suffix: str = ""
) -> list[str]:
    """Tag the local image `ref` with its content tags (plus the platform's tag `suffix`,
    kfimages.platforms) and return those refs. A reused image keeps the ones it carries (no
    container runs)."""
    if not taggers:
        return []
    if reused:
        kept = kept_refs(ref, taggers, refs=engine.repo_tags(ref), suffix=suffix)
        if kept:
            shown = ", ".join(r.rsplit(":", 1)[1] for r in kept)
            log.info("%s: content tags kept: %s", image, shown)
            return kept
    labels = engine.image_labels(ref) or {}
    tags = read_tags(ref, taggers, image=image, labels=labels)
    repository = ref.rsplit(":", 1)[0]
    refs = [f"{repository}:{tag}{suffix}" for tag in tags]
    for target in refs:
        engine.tag(ref, target)
    log.info("%s: content tags: %s", image, ", ".join(tags) or "none")
    return refs

"""Per-image configuration from an optional `<folder>/image.yaml`, validated strictly."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from kfimages.errors import UserError
from kfimages.platforms import SUPPORTED
from kfimages.settings import BUILD_ARG_PREFIX

CONFIG_FILE = "image.yaml"

_TOP_KEYS = {
    "paths", "build_args", "variants", "size_budget_mb", "artifacts", "taggers", "emulated_smoke",
}  # fmt: skip
_VARIANT_KEYS = {"build_args", "size_budget_mb", "artifacts", "taggers", "emulated_smoke"}
_TAGGER_RE = re.compile(r"^-?[a-z][a-z0-9-]*$")
_ARTIFACT_KEYS = {"name", "url", "build_arg"}


@dataclass(frozen=True)
class Artifact:
    """A file downloaded during the build; when its URL cannot be reached the image is blocked."""

    name: str
    url: str
    build_arg: str | None = None


@dataclass(frozen=True)
class ImageConfig:
    """What a Dockerfile cannot say about an image (one variant of a folder)."""

    extra_paths: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    size_budget_mb: int | None = None
    artifacts: tuple[Artifact, ...] = ()
    taggers: tuple[str, ...] = ()
    """Edits of the inherited content taggers, in order: `name` adds one, `-name` removes
    an inherited one (kfimages.build.taggers resolves them along the parent chain)."""
    emulated_smoke: tuple[str, ...] = ()
    """Platforms other than the host's whose smoke subset (tests marked `emulated`) CI runs
    under QEMU when `all` or `affected` picks the image (`invoke smoke affected`); not
    inherited: emulation is slow, so only images that say so are tested that way."""


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error
    (PyYAML keeps the last one silently: an edit could be undone by a forgotten line)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *anchor` keys are overridden on purpose
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool | None):
                    continue  # the safe loader refuses unhashable keys itself
                if key in seen:
                    first = seen[key].start_mark.line + 1
                    raise _DuplicateKey(key, first=first, again=key_node.start_mark.line + 1)
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


class _DuplicateKey(Exception):
    def __init__(self, key: Any, *, first: int, again: int) -> None:
        super().__init__(key)
        self.key, self.first, self.again = key, first, again


def _read_yaml(path: Path) -> Any:
    """The YAML document of `path`; a one-line UserError when it is not UTF-8, not YAML, or
    gives a key twice in one mapping."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _fail(
            path,
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8",
        ) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except _DuplicateKey as dup:
        raise _fail(
            path,
            f"key {dup.key!r} is given twice in one mapping (lines {dup.first} and "
            f"{dup.again}); keep one of them",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise _fail(path, f"is not valid YAML{where}") from exc


def _fail(path: Path, problem: str) -> UserError:
    return UserError(f"{path}: {problem} (see docs/build-system.md, 'image.yaml')")


def _check_keys(path: Path, where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(path, f"unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}")


def _mapping(path: Path, where: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _fail(path, f"{where} must be a mapping with string keys")
    return value


def _build_args(path: Path, where: str, value: Any) -> dict[str, str]:
    args = _mapping(path, where, value)
    for key, val in args.items():
        if not isinstance(val, str | int | float) or isinstance(val, bool):
            raise _fail(path, f"{where}.{key} must be a string or number")
    return {k: str(v) for k, v in args.items()}


def _budget(path: Path, where: str, value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _fail(path, f"{where} must be a positive whole number of megabytes")
    return value


def _artifacts(path: Path, where: str, value: Any) -> tuple[Artifact, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(path, f"{where} must be a list of {{name, url, build_arg}} mappings")
    out = []
    for i, item in enumerate(value):
        entry = _mapping(path, f"{where}[{i}]", item)
        _check_keys(path, f"{where}[{i}]", entry, _ARTIFACT_KEYS)
        name, url, arg = entry.get("name"), entry.get("url"), entry.get("build_arg")
        if not isinstance(name, str) or not isinstance(url, str) or not url:
            raise _fail(path, f"{where}[{i}] needs string 'name' and 'url'")
        if arg is not None and not isinstance(arg, str):
            raise _fail(path, f"{where}[{i}].build_arg must be a string")
        if "/" in name or ".." in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise _fail(
                path,
                f"{where}[{i}].name {name!r} must be a display name: no '/', '..' "
                "or control characters",
            )
        if url.startswith("file:"):
            hint = f"{BUILD_ARG_PREFIX}{arg}=file:///path" if arg else "a build_arg"
            raise _fail(
                path,
                f"{where}[{i}].url is a file:// URL, which names a file of one machine; "
                f"commit the download URL and point at a local copy from the environment ({hint})",
            )
        out.append(Artifact(name=name, url=url, build_arg=arg))
    return tuple(out)


def _taggers(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, str) and _TAGGER_RE.match(v) for v in value
    ):
        raise _fail(
            path, f"{where} must be a list of tagger names (`python`), or `-name` to drop one"
        )
    return tuple(value)


def _platforms(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(v in SUPPORTED for v in value):
        raise _fail(path, f"{where} must be a list of platforms: {', '.join(SUPPORTED)}")
    return tuple(value)


def load_folder_config(folder: Path) -> dict[str | None, ImageConfig]:
    """Read `folder/image.yaml`: the config of the folder (key None) and of each variant.

    Variant entries inherit the folder's settings and override them key by key
    (build_args are merged; a variant's taggers edit the folder's).
    """
    path = folder / CONFIG_FILE
    if not path.is_file():
        return {None: ImageConfig()}
    top = _mapping(path, "the file", _read_yaml(path))
    _check_keys(path, "the file", top, _TOP_KEYS)
    paths = top.get("paths") or []
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise _fail(path, "paths must be a list of repository-relative paths or globs")
    base = ImageConfig(
        extra_paths=tuple(paths),
        build_args=MappingProxyType(_build_args(path, "build_args", top.get("build_args"))),
        size_budget_mb=_budget(path, "size_budget_mb", top.get("size_budget_mb")),
        artifacts=_artifacts(path, "artifacts", top.get("artifacts")),
        taggers=_taggers(path, "taggers", top.get("taggers")),
        emulated_smoke=_platforms(path, "emulated_smoke", top.get("emulated_smoke")),
    )
    configs: dict[str | None, ImageConfig] = {None: base}
    for variant, raw in _mapping(path, "variants", top.get("variants")).items():
        where = f"variants.{variant}"
        entry = _mapping(path, where, raw)
        _check_keys(path, where, entry, _VARIANT_KEYS)
        args = {
            **base.build_args,
            **_build_args(path, f"{where}.build_args", entry.get("build_args")),
        }
        budget = _budget(path, f"{where}.size_budget_mb", entry.get("size_budget_mb"))
        artifacts = _artifacts(path, f"{where}.artifacts", entry.get("artifacts"))
        configs[variant] = ImageConfig(
            extra_paths=base.extra_paths,
            build_args=MappingProxyType(args),
            size_budget_mb=budget if budget is not None else base.size_budget_mb,
            artifacts=artifacts or base.artifacts,
            taggers=base.taggers + _taggers(path, f"{where}.taggers", entry.get("taggers")),
            emulated_smoke=_platforms(path, f"{where}.emulated_smoke", entry.get("emulated_smoke"))
            if "emulated_smoke" in entry
            else base.emulated_smoke,
        )
    return configs

"""`invoke sbom`: a CycloneDX 1.6 JSON SBOM of a built image, read from the image's own file
system without running it (so another platform's image needs no emulator).

The packages come from kfimages.ship.packages (Debian, Python of every environment, Node,
R), each with its purl, the license it states and where it was found (`evidence`). The
metadata names the image: a `container` component (with an `oci` purl once pushed), an
`operating-system` component from os-release, and `kfimages:image:*` properties: the ref,
image ID, registry digests, platform, input digest (label io.kfimages.inputs), size and
content tags. The document is made by cyclonedx-python-lib and validated against the
CycloneDX schema it ships before it is written; `read_document` validates a document
against the schema of its own spec version and reads it back (for `invoke diff`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.contrib.this.builders import this_component
from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.component_evidence import ComponentEvidence, Occurrence
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.license import LicenseAcknowledgement
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation import BaseSchemabasedValidator
from packageurl import PackageURL

from kfimages import engine
from kfimages.build.taggers import TAGGERS
from kfimages.errors import UserError
from kfimages.repo.inputs import INPUTS_LABEL
from kfimages.ship.imagefs import FileTree, read_tree
from kfimages.ship.manifest import parse_os_release
from kfimages.ship.packages import NPM, Package, find_packages

log = logging.getLogger(__name__)

SPEC_VERSION = SchemaVersion.V1_6
SUFFIX = ".cdx.json"
PROPERTY = "kfimages:image:"
"""Prefix of the metadata properties that name the image."""
_ARCHES = ("amd64", "arm64")


@dataclass(frozen=True)
class ImageFacts:
    """What names an image in an SBOM (empty when a document does not say)."""

    ref: str
    image_id: str = ""
    platform: str = ""
    repo_digests: tuple[str, ...] = ()
    inputs: str = ""
    size: int | None = None
    content_tags: tuple[str, ...] = ()
    os_release: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Inventory:
    """An image's facts and its packages (from the image itself or from an SBOM file)."""

    image: ImageFacts
    packages: tuple[Package, ...]


def content_tags(repo_tags: Sequence[str]) -> tuple[str, ...]:
    """The content tags (`python-3.13.5`, kfimages.build.taggers) among an image's refs, a
    platform's tag suffix (`-arm64`) dropped; sorted, unique."""
    found = set()
    for ref in repo_tags:
        tag = ref.rpartition(":")[2]
        for arch in _ARCHES:
            tag = tag.removesuffix(f"-{arch}")
        if any(t.owns(tag) for t in TAGGERS.values()):
            found.add(tag)
    return tuple(sorted(found))


def image_facts(ref: str, data: Mapping[str, Any], tree: FileTree) -> ImageFacts:
    """The facts of an image from its `docker image inspect` data and its os-release."""
    os_release = tree.read("etc/os-release") or tree.read("usr/lib/os-release") or b""
    labels = (data.get("Config") or {}).get("Labels") or {}
    return ImageFacts(
        ref=ref,
        image_id=str(data.get("Id", "")),
        platform=engine.image_platform(data),
        repo_digests=tuple(data.get("RepoDigests") or ()),
        inputs=str(labels.get(INPUTS_LABEL, "")),
        size=int(data.get("Size") or 0),
        content_tags=content_tags(data.get("RepoTags") or ()),
        os_release=parse_os_release(os_release.decode(errors="replace").splitlines()),
    )


_READ: dict[tuple[str, ...], Inventory] = {}
"""Inventories read by this process, by ref, image ID, refs and digests (a build's reports,
then its diff against `previous`, read the new image once)."""


def read_image(ref: str) -> Inventory:
    """The inventory of the local image `ref`: its file system exported (never started)."""
    data = engine.inspect_image(ref)
    if data is None:
        raise UserError(f"no local image {ref}; build it first (see `docker image ls`)")
    key = (ref, str(data.get("Id")), *(data.get("RepoTags") or ()), "@",
           *(data.get("RepoDigests") or ()))  # fmt: skip
    if key not in _READ:
        _READ[key] = _read_image(ref, data)
    return _READ[key]


def _read_image(ref: str, data: Mapping[str, Any]) -> Inventory:
    with engine.exported_filesystem(ref) as stream:
        tree = read_tree(stream)
    if tree.hard_links:  # metadata hard-linked to a file met earlier: read that one too
        log.info("%s: %d hard-linked metadata files, reading the image again", ref,
                 len(tree.hard_links))  # fmt: skip
        with engine.exported_filesystem(ref) as stream:
            tree = tree.with_hard_links(stream)
    packages = tuple(find_packages(tree))
    log.info("%s: %d packages", ref, len(packages))
    return Inventory(image=image_facts(ref, data, tree), packages=packages)


def _split_ref(ref: str) -> tuple[str, str]:
    """`reg:5000/ns/name:tag` -> (`reg:5000/ns/name`, `tag`); no tag: (ref, "")."""
    name, sep, tag = ref.partition("@")[0].rpartition(":")
    return (name, tag) if sep and "/" not in tag else (ref.partition("@")[0], "")


def _image_component(facts: ImageFacts) -> Component:
    repository, tag = _split_ref(facts.ref)
    purl = None
    if facts.repo_digests:
        location, _, digest = facts.repo_digests[0].partition("@")
        arch = facts.platform.split("/")[1] if "/" in facts.platform else ""
        qualifiers = {"repository_url": location, **({"arch": arch} if arch else {})}
        name = location.rsplit("/", 1)[-1].lower()
        purl = PackageURL(type="oci", name=name, version=digest, qualifiers=qualifiers)
    return Component(type=ComponentType.CONTAINER, name=repository, version=tag or None,
                     bom_ref=facts.image_id or facts.ref, purl=purl)  # fmt: skip


def _properties(facts: ImageFacts) -> list[Property]:
    pairs = [("ref", facts.ref), ("id", facts.image_id), ("platform", facts.platform),
             ("inputs", facts.inputs), ("size", "" if facts.size is None else str(facts.size)),
             *(("repo-digest", d) for d in facts.repo_digests),
             *(("content-tag", t) for t in facts.content_tags)]  # fmt: skip
    return [Property(name=PROPERTY + key, value=value) for key, value in pairs if value]


def _license(text: str) -> list[Any]:
    if not text:
        return []
    declared = LicenseAcknowledgement.DECLARED
    return [LicenseFactory().make_from_string(text, license_acknowledgement=declared)]


def _bom_refs(packages: Sequence[Package]) -> list[str]:
    """A unique bom-ref per package: its purl, plus `#<location>` where the purl repeats."""
    counts: dict[str, int] = {}
    for p in packages:
        counts[p.purl] = counts.get(p.purl, 0) + 1
    return [p.purl if counts[p.purl] == 1 else f"{p.purl}#/{p.location}" for p in packages]


def make_bom(inventory: Inventory) -> Bom:
    """The CycloneDX document of an inventory (packages unique by purl and location)."""
    facts = inventory.image
    packages = sorted(set(inventory.packages), key=lambda p: (p.purl, p.location))
    bom = Bom()
    root = _image_component(facts)
    bom.metadata.component = root
    bom.metadata.properties = _properties(facts)
    bom.metadata.tools.components.add(this_component())
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION,
                                                name="kfimages"))  # fmt: skip
    os_id = facts.os_release.get("ID", "")
    if os_id:
        bom.components.add(Component(
            type=ComponentType.OPERATING_SYSTEM, name=os_id, bom_ref=f"os:{os_id}",
            version=facts.os_release.get("VERSION_ID") or None,
            description=facts.os_release.get("PRETTY_NAME") or None,
        ))  # fmt: skip
    for package, bom_ref in zip(packages, _bom_refs(packages), strict=True):
        evidence = ComponentEvidence(occurrences=[Occurrence(location=f"/{package.location}")])
        bom.components.add(Component(
            type=ComponentType.LIBRARY, name=package.name, version=package.version,
            bom_ref=bom_ref, purl=PackageURL.from_string(package.purl),
            licenses=_license(package.license),
            evidence=evidence if package.location else None,
        ))  # fmt: skip
    # The image depends on each package; built directly (Bom.register_dependency searches
    # the graph once per package: quadratic, seconds for the larger images).
    refs = [c.bom_ref for c in bom.components]
    bom.dependencies.update([Dependency(ref=root.bom_ref,
                                        dependencies=[Dependency(ref=r) for r in refs]),
                             *(Dependency(ref=r) for r in refs)])  # fmt: skip
    return bom


@cache
def _validator(version: SchemaVersion) -> BaseSchemabasedValidator:
    """The schema validator of a spec version, made once. Imported here, not at the top:
    the json-validation extra's jsonschema imports rfc3987-syntax, which builds its grammar
    at import (about 5 s), and only the tasks that validate should wait for it."""
    from cyclonedx.validation.json import JsonStrictValidator  # noqa: PLC0415 (see above)

    return JsonStrictValidator(version)


def schema_problem(text: str, *, version: SchemaVersion = SPEC_VERSION) -> str | None:
    """Why a JSON text is not a valid CycloneDX document of `version` (its shipped
    schema), or None when it is."""
    error = _validator(version).validate_str(text)
    return None if error is None else str(error).splitlines()[0][:300]


def render(inventory: Inventory) -> str:
    """The inventory as CycloneDX 1.6 JSON, checked against the schema."""
    text = str(JsonV1Dot6(make_bom(inventory)).output_as_string(indent=2)) + "\n"
    problem = schema_problem(text)
    if problem is not None:  # a defect of this module, never of the image
        raise RuntimeError(f"the SBOM of {inventory.image.ref} is not valid CycloneDX: {problem}")
    return text


def sbom_file(output: Path, name: str) -> Path:
    """Where `invoke sbom` writes an image's document (`jupyter.cdx.json`,
    `jupyter@arm64.cdx.json` for another platform)."""
    return output / f"{name}{SUFFIX}"


def write_sboms(refs: Mapping[str, str], *, output: Path) -> list[tuple[Path, Inventory]]:
    """One document per image (name -> local ref) in `output` (created)."""
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, ref in refs.items():
        inventory = read_image(ref)
        path = sbom_file(output, name)
        path.write_text(render(inventory), encoding="utf-8")
        written.append((path, inventory))
    return written


def _not_cyclonedx(path: Path, why: str) -> UserError:
    return UserError(f"{path} is not a CycloneDX JSON document ({why}); pass an SBOM that "
                     "`invoke sbom` wrote, or an image ref")  # fmt: skip


def read_document(path: Path) -> Inventory:
    """The inventory of a CycloneDX JSON file, validated against the schema of its own spec
    version; a UserError naming the file when it is not one."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise _not_cyclonedx(path, f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise _not_cyclonedx(path, 'no "bomFormat": "CycloneDX"')
    try:
        version = SchemaVersion.from_version(str(doc.get("specVersion")))
    except ValueError:
        raise _not_cyclonedx(path, f"unknown specVersion {doc.get('specVersion')!r}") from None
    if (problem := schema_problem(text, version=version)) is not None:
        raise _not_cyclonedx(path, f"schema {version.to_version()}: {problem}")
    return Inventory(image=_facts_of(doc, fallback=str(path)), packages=_packages_of(doc))


def _facts_of(doc: Mapping[str, Any], *, fallback: str) -> ImageFacts:
    props: dict[str, list[str]] = {}
    for prop in (doc.get("metadata") or {}).get("properties") or []:
        name = str(prop.get("name", ""))
        if name.startswith(PROPERTY):
            props.setdefault(name[len(PROPERTY) :], []).append(str(prop.get("value", "")))
    one = {key: values[0] for key, values in props.items()}
    size = one.get("size", "")
    return ImageFacts(
        ref=one.get("ref", fallback), image_id=one.get("id", ""),
        platform=one.get("platform", ""), inputs=one.get("inputs", ""),
        repo_digests=tuple(props.get("repo-digest", ())),
        size=int(size) if size.isdigit() else None,
        content_tags=tuple(sorted(props.get("content-tag", ()))),
    )  # fmt: skip


def _license_of(component: Mapping[str, Any]) -> str:
    for choice in component.get("licenses") or []:
        if choice.get("expression"):
            return str(choice["expression"])
        stated = choice.get("license") or {}
        if stated.get("id") or stated.get("name"):
            return str(stated.get("id") or stated.get("name"))
    return ""


def _packages_of(doc: Mapping[str, Any]) -> tuple[Package, ...]:
    packages = []
    for component in doc.get("components") or []:
        if not component.get("purl"):
            continue
        purl = PackageURL.from_string(str(component["purl"]))
        name = f"{purl.namespace}/{purl.name}" if purl.type == NPM and purl.namespace else purl.name
        occurrences = (component.get("evidence") or {}).get("occurrences") or [{}]
        packages.append(Package(
            ecosystem=purl.type, name=str(component.get("name") or name),
            version=str(component.get("version") or purl.version or ""),
            purl=str(component["purl"]), license=_license_of(component),
            location=str(occurrences[0].get("location", "")).lstrip("/"),
        ))  # fmt: skip
    return tuple(packages)


def describe(inventory: Inventory) -> str:
    """`244 packages (deb 152, pypi 92)`."""
    counts: dict[str, int] = {}
    for p in inventory.packages:
        counts[p.ecosystem] = counts.get(p.ecosystem, 0) + 1
    shown = ", ".join(f"{k} {v}" for k, v in counts.items())
    return f"{len(inventory.packages)} packages ({shown or 'none found'})"

"""The `docker buildx build` command line and its run: streamed log, one-line failure reason.

`command` turns an image's `BuildInputs` (what decides its content) and its `Delivery`
(refs, per-build labels, cache flags) into the command line, and nothing else goes in:
an option that changes the image must be a field of `BuildInputs`, so it also changes
the input digest (`kfimages.repo.inputs`). `build_adhoc` is the same runner for builds that
are not images of the graph (the smoke tests' derived images, a stage of a Dockerfile).
"""

from __future__ import annotations

import collections
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from kfimages import engine
from kfimages.build.stop import STOP
from kfimages.errors import UserError
from kfimages.repo.graph import BUILD_PARENT_ARG, PARENT_ARG
from kfimages.repo.inputs import BAKED_CA_LABEL, INPUTS_LABEL, BuildInputs
from kfimages.settings import mask_credentials, refuse_credentials

log = logging.getLogger(__name__)

_TLS_MARKERS = (
    "CERTIFICATE_VERIFY_FAILED",
    "certificate verify failed",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "unable to get local issuer certificate",
    "server certificate verification failed",
)
_PROCESS_RE = re.compile(r'process "(.*)" did not complete successfully: (exit code: \d+)')
TAIL_LINES = 40


@dataclass(frozen=True)
class Delivery:
    """What a build needs that the image's content does not depend on."""

    refs: tuple[str, ...]
    """Every ref the image is tagged with; the first one is the primary ref."""
    parent_ref: str
    """The exact ref passed as BASE_IMG (the parent's primary ref, or the OS image)."""
    build_parent_ref: str = ""
    """The ref passed as BUILD_BASE_IMG (the build platform's image of the parent, for a
    cross-installing image built for another platform; for a root image, the host's OS image),
    else ''."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Per-build OCI labels (source, revision, created, version)."""
    context_dirs: Mapping[str, Path] = field(default_factory=dict)
    """Named build contexts on disk: `ca-certs` and `artifact-<name>` (their content is in
    BuildInputs as digests)."""
    secrets: Mapping[str, Path] = field(default_factory=dict)
    """BuildKit secrets (id -> file): mounted into the RUN steps that ask for them, never
    written into a layer, a label or the history; not part of the content."""
    no_cache: bool = False


class Output:
    """Serialises BuildKit's progress lines of parallel builds, prefixed with the image name."""

    def __init__(self, stream: TextIO, *, prefix: bool) -> None:
        self.stream = stream
        self.prefix = prefix
        self.lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        with self.lock:
            self.stream.write(f"[{name}] {text}" if self.prefix else text)
            if not text.endswith("\n"):
                self.stream.write("\n")
            self.stream.flush()


def build_args(inputs: BuildInputs, delivery: Delivery) -> dict[str, str]:
    """Every build arg of an image: BASE_IMG (the parent's exact ref) first, BUILD_BASE_IMG
    when there is one, then the rest sorted (shared by `command` and the bake file,
    kfimages.ship.bake)."""
    parents = {PARENT_ARG: delivery.parent_ref}
    if delivery.build_parent_ref:
        parents[BUILD_PARENT_ARG] = delivery.build_parent_ref
    rest = {k: v for k, v in sorted(inputs.build_args.items()) if k not in parents}
    return {**parents, **rest}


def labels(inputs: BuildInputs, delivery: Delivery) -> dict[str, str]:
    """Every label of an image, sorted: the per-build ones, the input digest and the baked CA
    digest (shared by `command` and the bake file, kfimages.ship.bake); UserError when one
    carries a credential (labels are public)."""
    out = {**delivery.labels, INPUTS_LABEL: inputs.digest}
    if inputs.baked_ca:
        out[BAKED_CA_LABEL] = inputs.baked_ca
    refuse_credentials(out)
    return dict(sorted(out.items()))


def command(inputs: BuildInputs, delivery: Delivery, *, root: Path) -> list[str]:
    """The `docker buildx build` command line of one image of the graph."""
    cmd = engine.command(
        "buildx", "build", "--progress=plain", "--load", "-f", str(root / inputs.dockerfile)
    )
    if inputs.platform:
        cmd += ["--platform", inputs.platform]
    for key, value in build_args(inputs, delivery).items():
        cmd += ["--build-arg", f"{key}={value}"]
    for name, path in sorted(delivery.context_dirs.items()):
        cmd += ["--build-context", f"{name}={path}"]
    for secret, path in sorted(delivery.secrets.items()):
        cmd += ["--secret", f"id={secret},src={path}"]
    for key, value in labels(inputs, delivery).items():
        cmd += ["--label", f"{key}={value}"]
    for ref in delivery.refs:
        cmd += ["-t", ref]
    if delivery.no_cache:
        cmd.append("--no-cache")
    cmd.append(str(root / inputs.folder))
    return cmd


def failure_reason(lines: Sequence[str], *, code: int) -> str:
    """One short line from the end of BuildKit's output: which step failed and how."""
    if any(marker in line for line in lines for marker in _TLS_MARKERS):
        return (
            "a download failed on a TLS certificate the build does not trust; pass the "
            "proxy's or mirror's CA with --ca-cert FILE (or $KFIMAGES_CA_CERT), or add it to "
            "the host's store (update-ca-certificates)"
        )
    errors = [line for line in lines if "ERROR" in line or "error:" in line.lower()]
    reason = (errors or list(lines) or [f"buildx exited with {code}"])[-1]
    if match := _PROCESS_RE.search(reason):
        cmd = match.group(1).replace('\\"', '"')
        cmd = cmd.removeprefix("/bin/bash -o pipefail -c ").removeprefix("/bin/sh -c ")
        short = cmd if len(cmd) <= 70 else cmd[:67] + "..."
        return f"RUN {short} failed ({match.group(2)})"
    return reason.split("] ", 1)[-1].removeprefix("ERROR: ")[:200]


def run(cmd: Sequence[str], *, name: str, output: Output) -> tuple[bool, str, list[str]]:
    """Run a buildx command, streaming its output; (ok, failure reason, last lines). Raises
    Interrupted instead of starting it after a stop request (kfimages.build.stop), and when
    a stop ended its process group."""
    log.debug("%s", mask_credentials(" ".join(cmd)))
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    STOP.check("buildx not started")
    try:
        proc = engine.stream(cmd)
    except UserError as exc:
        return False, str(exc), []
    with proc, STOP.tracking(proc):
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            output.line(name, line)
        code = proc.wait()
    if code == 0:
        return True, "", list(tail)
    STOP.check(f"buildx stopped (exit code {code})")
    return False, failure_reason(list(tail), code=code), list(tail)


class AdhocBuildError(UserError):
    """An ad-hoc build failed; the message has the reason and BuildKit's last lines."""


def build_adhoc(
    *,
    context: Path,
    tag: str,
    dockerfile: Path | None = None,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    contexts: Mapping[str, Path] | None = None,
    platform: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """`docker buildx build --load` of a folder that is not an image of the graph (a test's
    derived image, one stage of a Dockerfile); raises AdhocBuildError on failure."""
    cmd = engine.command("buildx", "build", "--progress=plain", "--load", "-t", tag)
    if dockerfile is not None:
        cmd += ["-f", str(dockerfile)]
    if platform:
        cmd += ["--platform", platform]
    for key, value in sorted((build_args or {}).items()):
        cmd += ["--build-arg", f"{key}={value}"]
    for name, path in sorted((contexts or {}).items()):
        cmd += ["--build-context", f"{name}={path}"]
    if target:
        cmd += ["--target", target]
    cmd.append(str(context))
    sink = Output(stream, prefix=False) if stream is not None else _Quiet()
    ok, reason, tail = run(cmd, name=tag, output=sink)
    if not ok:
        raise AdhocBuildError(f"building {tag} from {context} failed: {reason}\n" + "\n".join(tail))


class _Quiet(Output):
    """An Output that only logs at DEBUG (ad-hoc builds in tests keep their log short)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        log.debug("[%s] %s", name, text.rstrip("\n"))

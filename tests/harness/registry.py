"""A real registry for push tests: Debian's docker-registry (distribution 2.8) on a free
127.0.0.1 port with temporary storage (the engine pushes to localhost over plain http), and
a small client of its HTTP API (tags, digests, manifest lists, the catalog)."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.http import free_port
from tests.harness.waiting import wait_until

MANIFEST_LIST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@dataclass(frozen=True)
class Registry:
    """A real registry (Debian's docker-registry) on 127.0.0.1."""

    host: str

    def tags(self, repository: str) -> list[str]:
        url = f"http://{self.host}/v2/{repository}/tags/list"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return sorted(json.load(response).get("tags") or [])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise

    def digest(self, repository: str, tag: str) -> str:
        """The manifest digest a tag names (Docker-Content-Digest of a HEAD request)."""
        request = urllib.request.Request(
            f"http://{self.host}/v2/{repository}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(response.headers["Docker-Content-Digest"])

    def platforms(self, repository: str, tag: str) -> list[str]:
        """The `os/arch` of every image of the manifest list (or OCI index) a tag names;
        AssertionError when the tag names a single image."""
        request = urllib.request.Request(
            f"http://{self.host}/v2/{repository}/manifests/{tag}",
            headers={"Accept": ", ".join(MANIFEST_LIST_TYPES)},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            kind = response.headers["Content-Type"]
            document = json.load(response)
        assert kind in MANIFEST_LIST_TYPES, f"{repository}:{tag} is a {kind}, not a list"
        return sorted(
            f"{m['platform']['os']}/{m['platform']['architecture']}" for m in document["manifests"]
        )

    def catalog(self) -> list[str]:
        with urllib.request.urlopen(f"http://{self.host}/v2/_catalog", timeout=5) as response:
            return sorted(json.load(response).get("repositories") or [])


REGISTRY_CONFIG = """
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    readonly:
      enabled: {readonly}
http:
  addr: {addr}
"""


class RegistryProcess:
    """Runs docker-registry on one port and storage; restartable (e.g. read-only)."""

    def __init__(self, tmp_path: Path) -> None:
        binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
        if not Path(binary).exists():
            pytest.fail("docker-registry is not installed: apt-get install docker-registry")
        self.binary = binary
        self.tmp = tmp_path
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, readonly: bool = False) -> None:
        config = self.tmp / "registry.yml"
        text = REGISTRY_CONFIG.format(
            root=self.tmp / "registry-data", addr=self.host, readonly=str(readonly).lower()
        )
        config.write_text(text, encoding="utf-8")
        log = self.tmp / "registry.log"
        with log.open("a") as out:
            self.proc = subprocess.Popen(
                [self.binary, "serve", str(config)], stdout=out, stderr=out
            )
        proc = self.proc

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(log.read_text())
            urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2).close()
            return True

        try:
            wait_until(up, timeout=20, message="docker-registry answering /v2/")
        except AssertionError:
            proc.kill()
            raise

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

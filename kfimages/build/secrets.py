"""The BuildKit secrets of a build: `build-ca` (the host's CA store plus --ca-cert, which the
downloads trust and no image keeps) and a file per $KFIMAGES_SECRET_<ID>."""

from __future__ import annotations

from pathlib import Path

from kfimages.build.ca import BUILD_CA_SECRET, HOST_BUNDLE, write_build_bundle
from kfimages.build.plan import BuildRequest
from kfimages.errors import UserError
from kfimages.settings import Settings


def build_secrets(request: BuildRequest, *, settings: Settings, work: Path) -> dict[str, Path]:
    """Secret id -> file, for every build of the plan."""
    return {**secret_files(settings), **_build_ca(request, work=work)}


def _build_ca(request: BuildRequest, *, work: Path) -> dict[str, Path]:
    """The `build-ca` secret: the host's CA store plus --ca-cert (downloads trust it)."""
    bundle = write_build_bundle(
        request.ca_files, host_bundle=HOST_BUNDLE, target=work / "secrets" / "build-ca.pem"
    )
    return {BUILD_CA_SECRET: bundle} if bundle is not None else {}


def secret_files(settings: Settings) -> dict[str, Path]:
    """The BuildKit secrets of $KFIMAGES_SECRET_<ID>, checked to be readable files."""
    out = {}
    for secret, value in settings.secrets.items():
        path = Path(value).expanduser()
        if not path.is_file():
            raise UserError(
                f"KFIMAGES_SECRET_{secret.upper()}={value} is not a file; point it at the file "
                "holding the secret"
            )
        out[secret] = path
    return out

"""Root mode (base/README.md, "Root mode"): an image whose last USER is root, with the s6 folders
handed to root by the documented recipe, so that its init runs as root and its services drop to
$NB_USER. Shared by base's tests (run for every image) and its children's."""

from __future__ import annotations

from pathlib import Path

from tests.harness.images import DerivedImages, files_of

HERE = Path(__file__).resolve().parent
ROOT_MODE_FILES = HERE / "root-mode"
SERVICE = "kfnb-as-user"
"""The test service: started by root's supervisor, it drops to $NB_USER (root-mode/)."""
USER_BIN = "/opt/kfnb-userbin"
"""A folder of the notebook's user first on the image's PATH, as jupyter's /opt/venv/bin."""

RECIPE = """\
USER 0
RUN chown -R 0:0 /etc/cont-init.d /etc/services.d \\
    && chmod -R go-w /etc/cont-init.d /etc/services.d
"""
"""base/README.md's root-mode recipe: the s6 folders belong to root, nobody else may write."""

DOCKERFILE = f"""\
ARG BASE_IMG
FROM $BASE_IMG
COPY --chown=1000:0 s6/ /etc/
{RECIPE}\
RUN mkdir {USER_BIN} && chown 1000:0 {USER_BIN} && chmod 2775 {USER_BIN}
ENV PATH={USER_BIN}:$PATH
"""


def root_mode_image(derived_image: DerivedImages, parent: str) -> str:
    """Ref of `parent` in root mode, with the test service and USER_BIN first on its PATH."""
    return derived_image(parent, files_of(ROOT_MODE_FILES), dockerfile=DOCKERFILE)

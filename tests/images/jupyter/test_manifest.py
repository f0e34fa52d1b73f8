"""The build manifest (`invoke manifest`, kfimages.ship.manifest) read from the jupyter image: it
lists JupyterLab at the version the image really has (and so do its descendants')."""

from __future__ import annotations

from kfimages import engine
from kfimages.ship.manifest import read_manifest, render_markdown


def test_manifest_lists_jupyterlab_at_the_installed_version(image_ref_under_test: str) -> None:
    code, out = engine.run_in_image(
        image_ref_under_test, "python3 -c 'import jupyterlab; print(jupyterlab.__version__)'"
    )
    assert code == 0, out
    installed = out.strip()
    manifest = read_manifest(name="jupyter", ref=image_ref_under_test)
    assert ("jupyterlab", installed) in manifest.python
    text = render_markdown(manifest)
    assert f"| jupyterlab | {installed} |" in text
    assert "| python3 |" in text or "| python3.13 |" in text, "Debian's python3 is listed"

"""Cross-install in the plan: which build platform (host) images a cross-installing image needs
(its stage FROM $BUILD_BASE_IMG), and the locks of every platform checked before anything builds
(kfimages.repo.locks). Pure: no process, no engine."""

from __future__ import annotations

from collections.abc import Sequence

from kfimages.errors import UserError
from kfimages.platforms import is_foreign
from kfimages.repo.graph import Graph, Image
from kfimages.repo.locks import missing_wheel_problems


def check_locks(
    graph: Graph, images: Sequence[Image], targets: Sequence[str], *, host: str
) -> list[str]:
    """Before anything builds: every image whose folder has requirements `.in` files has a lock
    for each platform, with a wheel of that platform for every pin (kfimages.repo.locks);
    else the first problem, naming the lock, the package, the platform and the fix. The
    platforms the plan needs: `targets`, plus the host's when a cross-installing image is built
    for another platform (its build stage runs FROM the host's parent)."""
    crossing = any(i.cross for i in images) and any(t != host for t in targets)
    platforms = list(dict.fromkeys([*targets, host])) if crossing else list(targets)
    for folder in dict.fromkeys(i.folder for i in images):
        for platform in platforms:
            problems = missing_wheel_problems(graph.root, folder, platform)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise UserError(problems[0] + more)
    return platforms


def host_images(
    graph: Graph, images: Sequence[Image], *, platforms: Sequence[str], host: str
) -> list[Image]:
    """The images whose build platform (host) step the plan needs besides `platforms`'s: the
    parents (with their ancestors) of the cross-installing images built for another platform,
    when the host's platform is not asked for itself. Parents first. A cross-installing root
    image (base) needs none: its build stage runs FROM the host's OS image, which the plan
    ensures with the roots' own (kfimages.build.run._os_images)."""
    if host in platforms or not any(is_foreign(p, host=host) for p in platforms):
        return []
    needed: set[str] = set()
    for image in images:
        parent = graph.parent_of(image.name)
        if image.cross and parent is not None:
            needed |= graph.with_ancestors([parent.name])
    return graph.build_order(needed) if needed else []

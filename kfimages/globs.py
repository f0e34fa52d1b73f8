"""Repository-relative globs (image.yaml `paths`): `**` spans folders, `*` and `?` do not."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Regex for a repository-relative glob: `**` spans segments, `*`/`?` do not."""
    out: list[str] = []
    i = 0
    pat = pattern.strip("/")
    while i < len(pat):
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        elif pat[i] == "[" and (end := pat.find("]", i + 2)) != -1:
            body = pat[i + 1 : end].replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(pat[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def path_matches(pattern: str, path: str) -> bool:
    """Whether `path` or one of its parent folders matches the glob `pattern`."""
    regex = _glob_regex(pattern)
    parts = path.split("/")
    return any(regex.match("/".join(parts[:n])) for n in range(len(parts), 0, -1))

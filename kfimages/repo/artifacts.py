"""Pre-build check of the files an image downloads (image.yaml `artifacts`).

An image whose artifact cannot be fetched is `blocked`, not built: its URL is
reported so that a user can provide a mirror (`KFIMAGES_BUILD_ARG_<build_arg>`).
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from kfimages.settings import mask_credentials

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0


def local_path(url: str) -> Path | None:
    """The host path of a `file://` URL, else None."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(urllib.parse.unquote(parsed.path))


def _request(url: str, method: str, timeout: float) -> int:
    request = urllib.request.Request(url, method=method)
    if method == "GET":
        request.add_header("Range", "bytes=0-0")
    # urlopen honours http_proxy/https_proxy/no_proxy from the environment.
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


def check_url(url: str, *, timeout: float = TIMEOUT_S) -> str | None:
    """None when `url` can be fetched, else the reason why not (one line, credentials
    masked)."""
    path = local_path(url)
    if path is not None:
        return None if path.is_file() else f"{path} does not exist"
    if urllib.parse.urlparse(url).scheme not in ("http", "https"):
        return f"unsupported URL scheme in {mask_credentials(url)}"
    last = "unknown error"
    for method in ("HEAD", "GET"):
        try:
            status = _request(url, method, timeout)
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            continue  # some servers refuse HEAD: try a one-byte GET
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return mask_credentials(f"cannot reach {url}: {reason}")
        if status < 400:
            return None
        last = f"HTTP {status}"
    return f"cannot fetch {mask_credentials(url)}: {last}"

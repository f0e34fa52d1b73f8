"""The test harness shared by the image smoke tests (tests/images) and the build-system
integration tests (tests/integration).

- `waiting`: `wait_until`, polling with a deadline (and `GiveUp` to stop at once).
- `containers`: `TrackedContainers` / `TrackedContainer`: run, exec (raising `ExecError`),
  waits that end at once when the container died or a supervised service fails,
  `run_to_exit` (the command's own stdout and stderr, apart from the container log).
- `images`: `DerivedImages`, small images FROM an image under test, built through
  `kfimages.build.buildx.build_adhoc`; `files_of` reads such an image's folder.
- `http`: requests made inside a container (curl), listening sockets, host ports.
- `browser`: headless Chromium (one-shot `browse`, DevTools-driven `ChromiumPage`).

The pytest fixtures built on these are in tests/images/conftest.py.
"""

"""The workflow's scheduled jobs (kfimages.ship.workflow puts them into images.yml): they build
nothing, and every other job is skipped on the schedule.

- `outdated`: pulls the pushed `latest` refs (`packages: read`), then `invoke outdated all
  --registry $REGISTRY --fail-on security` (fails when a package of an image has a security
  update): on a fresh runner nothing is built, so without the pull every image would be
  `not built: not checked`;
- `inventory` lists the pushed `latest` refs (`invoke list --json --registry $REGISTRY`), and
  `scan`, one job per image, pulls each (a manifest list: the runner's amd64 image) and scans
  it with Trivy (aquasecurity/trivy-action), whose SARIF goes to code scanning
  (github/codeql-action/upload-sarif, one category per image). `scan` is the only job of the
  workflow with `security-events: write`, and it reads packages (`packages: read`) to pull.
"""

from __future__ import annotations

CRON = "23 4 * * *"
"""When the scheduled jobs run (daily, 04:23 UTC): `invoke outdated all --fail-on security`
and a Trivy scan of each pushed image reported to code scanning; nothing is built."""
WHEN = "github.event_name == 'schedule'"
"""The condition of the scheduled jobs; every other job has its negation."""

JOBS = """
  outdated:
    name: outdated packages with a security fix (scheduled)
    if: @SCHEDULED@
    runs-on: ubuntu-24.04
    permissions:
      contents: read
      packages: read
    steps:
@SETUP@
@LOGIN@      - name: pull the pushed images (what outdated checks)
        run: |
          invoke list --json --registry "$REGISTRY" | jq -r '.[].ref' | while read -r ref; do
            docker pull --quiet "$ref" || echo "::warning::$ref: not pulled (not checked)"
          done
      - run: invoke outdated all --registry "$REGISTRY" --fail-on security

  inventory:
    name: the pushed images to scan (scheduled)
    if: @SCHEDULED@
    runs-on: ubuntu-24.04
    outputs:
      images: ${{ steps.list.outputs.images }}
    steps:
@SETUP@
      - id: list
        run: |
          images="$(invoke list --json --registry "$REGISTRY" | jq -c '[.[] | {name, ref}]')"
          echo "images=$images" >> "$GITHUB_OUTPUT"

  scan:
    name: vulnerability scan of ${{ matrix.ref }} (scheduled)
    needs: [inventory]
    if: @SCHEDULED@
    runs-on: ubuntu-24.04
    permissions:
      contents: read
      packages: read
      security-events: write
    strategy:
      fail-fast: false
      matrix:
        include: ${{ fromJSON(needs.inventory.outputs.images) }}
    steps:
      - uses: @USES:actions/checkout@
        with:
          persist-credentials: false
@LOGIN@      - name: scan the pushed image (Trivy, SARIF)
        uses: @USES:aquasecurity/trivy-action@
        with:
          image-ref: ${{ matrix.ref }}
          format: sarif
          output: trivy.sarif
      - name: report to code scanning
        uses: @USES:github/codeql-action/upload-sarif@
        with:
          sarif_file: trivy.sarif
          category: trivy-${{ matrix.name }}
"""

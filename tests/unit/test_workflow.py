"""The generated CI workflow (kfimages.ship.workflow): stable, names no image, a job per stage;
what a security review asks of it: pull requests cannot write the registry or its cache,
nothing moving is pushed before every image passed, every action pinned by commit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfimages.ship import actions, scheduled, workflow
from tests.unit.conftest import Repo

PR = {"github.event_name": "'pull_request'", "github.ref": "'refs/pull/7/merge'"}
MAIN = {"github.event_name": "'push'", "github.ref": "'refs/heads/main'"}
DISPATCH = {"github.event_name": "'workflow_dispatch'", "github.ref": "'refs/heads/main'"}
SCHEDULE = {"github.event_name": "'schedule'", "github.ref": "'refs/heads/main'"}
SCHEDULED_JOBS = {"outdated", "inventory", "scan"}
# Conditions that do not depend on the event: assumed true (the job may run).
_FREE = (
    re.compile(r"needs\.plan\.outputs\.\w+ != '[^']*'"),
    re.compile(r"!cancelled\(\)"),
    re.compile(r"!contains\(needs\.\*\.result, '\w+'\)"),
)


def runs_for(job: dict[str, Any], event: dict[str, str]) -> bool:
    """Whether the job's `if:` lets it run for `event`: the expression evaluated with the
    event's github.event_name and github.ref (anything else in it fails the test)."""
    cond = str(job.get("if", "true"))
    for free in _FREE:
        cond = free.sub("True", cond)
    for name, value in event.items():
        cond = cond.replace(name, value)
    cond = cond.replace("&&", " and ").replace("||", " or ").replace("!(", " not (")
    cond = cond.replace("true", "True")
    assert re.fullmatch(r"[\w\s()'/.=!-]*", cond), f"unexpected condition: {cond}"
    return bool(eval(cond, {"__builtins__": {}}))  # only literals and and/or/not remain


def doc_of(repo: Repo) -> dict[str, Any]:
    loaded = yaml.safe_load(workflow.expected(repo.graph()))
    assert isinstance(loaded, dict)
    return loaded


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def writes_packages(job: dict[str, Any]) -> bool:
    return (job.get("permissions") or {}).get("packages") == "write"


def runs_with_needs(jobs: dict[str, Any], name: str, event: dict[str, str]) -> bool:
    """Whether a job runs for `event`: its `if:` lets it and every job it needs runs (a job
    whose needed job is skipped is skipped, unless its `if:` says otherwise, which these
    jobs' conditions do not)."""
    needs = jobs[name].get("needs") or []
    return runs_for(jobs[name], event) and all(runs_with_needs(jobs, n, event) for n in needs)


def logs_in(job: dict[str, Any]) -> bool:
    return any(str(s.get("uses", "")).startswith("docker/login-action@") for s in job["steps"])


def test_workflow_is_stable_and_names_no_image(chain: Repo) -> None:
    graph = chain.graph()
    text = workflow.expected(graph)
    assert text == workflow.expected(graph)
    for name in graph.images:
        assert f" {name} " not in text, name
        assert f'"{name}"' not in text, name
    for word in ("jupyter", "codeserver", "pytorch", "rstudio"):
        assert word not in text
    doc = yaml.safe_load(text)
    jobs = doc["jobs"]
    assert set(jobs) == {
        "lint", "integration", "plan", "stage-0", "stage-1", "stage-2",
        "publish-0", "publish-1", "publish-2", "promote", *SCHEDULED_JOBS,
    }  # fmt: skip
    assert jobs["stage-1"]["needs"] == ["plan", "stage-0"]
    assert jobs["publish-1"]["needs"] == ["plan", "publish-0"]
    assert jobs["stage-2"]["strategy"]["matrix"]["include"] == (
        "${{ fromJSON(needs.plan.outputs.stage2) }}"
    )
    assert jobs["publish-2"]["strategy"] == jobs["stage-2"]["strategy"]
    assert "invoke affected --base" in jobs["plan"]["steps"][-1]["run"]
    for job in ("stage-0", "publish-0"):
        assert "docker buildx bake -f artifacts/docker-bake.json --load" in runs(jobs[job])
        assert "python -m pytest tests/images" in runs(jobs[job])
    assert 'invoke build "$NAME" --registry "$REGISTRY" --no-reports' in runs(jobs["stage-0"])
    assert "ubuntu-24.04-arm" in doc["env"]["RUNNERS"]


def test_a_new_sibling_changes_nothing_a_deeper_chain_adds_a_stage(chain: Repo) -> None:
    before = workflow.expected(chain.graph())
    chain.image("rbioc", "base")
    assert workflow.expected(chain.graph()) == before
    chain.image("deeper", "pytorch.cpu")
    after = workflow.expected(chain.graph())
    for job in ("stage-3:", "publish-3:"):
        assert job in after
        assert job not in before
    assert yaml.safe_load(after)["jobs"]["promote"]["needs"][-1] == "publish-3"


def test_the_workflow_token_reads_only_and_no_pull_request_job_can_write(chain: Repo) -> None:
    doc = doc_of(chain)
    assert doc["permissions"] == {"contents": "read"}
    jobs = doc["jobs"]
    for event in (PR, DISPATCH):
        running = [name for name, job in jobs.items() if runs_for(job, event)]
        assert {"lint", "integration", "plan", "stage-0", "stage-1", "stage-2"} <= set(running)
        for name in running:
            job = jobs[name]
            assert not writes_packages(job), f"{name} can write packages for {event}"
            assert not logs_in(job), f"{name} logs in to the registry for {event}"
            text = yaml.safe_dump(job)
            assert "cache-to" not in text, name
            assert "secrets." not in text, name
            assert "--push" not in runs(job), name
            if "invoke bake" in runs(job):
                assert "--cache-read-only" in runs(job), f"{name} would write the cache"
    # The main branch's jobs are the ones that write, and each stage runs once per event.
    writers = {name for name, job in jobs.items() if writes_packages(job) or logs_in(job)}
    assert writers == {"publish-0", "publish-1", "publish-2", "promote", "scan", "outdated"}
    for puller in ("scan", "outdated"):  # scheduled: they log in to pull only
        assert jobs[puller]["permissions"]["packages"] == "read", puller
        writers.remove(puller)
    for name in writers:
        assert runs_for(jobs[name], MAIN)
        assert jobs[name]["permissions"] == {"contents": "read", "packages": "write"}
    for n in range(3):
        stage, publish = jobs[f"stage-{n}"], jobs[f"publish-{n}"]
        for event in (PR, MAIN, DISPATCH):
            assert runs_for(stage, event) != runs_for(publish, event), (n, event)


def test_nothing_moving_is_pushed_before_the_last_job(chain: Repo) -> None:
    jobs = doc_of(chain)["jobs"]
    publish = [f"publish-{n}" for n in range(3)]
    for name, job in jobs.items():
        if name == "promote":
            continue
        text = runs(job)
        assert "invoke lists" not in text, name
        assert "imagetools" not in text, name
        assert "docker push" not in text, name
        for line in text.replace("\\\n", " ").splitlines():
            if "invoke build" in line and "--push" in line:
                for flag in ("--no-lists", "--immutable-only", "--record"):
                    assert flag in line, f"{name}: {line.strip()} lacks {flag}"
            if "docker buildx bake" in line:
                assert "--push" not in line, name
    for name in publish:
        steps = [str(s.get("run", "")) for s in jobs[name]["steps"]]
        tests = next(i for i, r in enumerate(steps) if "pytest tests/images" in r)
        pushes = next(i for i, r in enumerate(steps) if "--push" in r)
        assert tests < pushes, f"{name} pushes before its smoke tests"
    promote = jobs["promote"]
    assert promote["needs"] == ["plan", *publish], "after every stage job that pushed"
    for word in ("!cancelled()", "!contains(needs.*.result, 'failure')",
                 "!contains(needs.*.result, 'cancelled')"):  # fmt: skip
        assert word in promote["if"]
    assert not runs_for(promote, PR)
    assert "invoke lists pushed" in runs(promote)


def test_every_action_is_pinned_by_commit_and_no_checkout_keeps_the_token(chain: Repo) -> None:
    text = workflow.expected(chain.graph())
    uses = re.findall(r"uses: (\S+)@(\S+)(.*)", text)
    assert uses
    for action, ref, rest in uses:
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action}@{ref} is not a commit SHA"
        assert rest == f" # {actions.ACTIONS[action][1]}"
    assert {action for action, _, _ in uses} == set(actions.ACTIONS), "no unused pin"
    checkouts = [
        step
        for job in yaml.safe_load(text)["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/checkout@")
    ]
    assert len(checkouts) == 13
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)
    workflow.write(chain.graph())
    assert workflow.check(chain.graph()) is None


def test_check_reports_missing_and_stale(chain: Repo) -> None:
    graph = chain.graph()
    assert "is missing" in str(workflow.check(graph))
    path = workflow.write(graph)
    assert workflow.check(graph) is None
    path.write_text(path.read_text() + "# edited\n")
    assert "differs from what `invoke workflow` writes" in str(workflow.check(graph))


SHA = "11d5960a326750d5838078e36cf38b85af677262"


@pytest.mark.parametrize(
    ("uses", "problem"),
    [
        ("actions/checkout@v4", "`uses: actions/checkout@v4` is pinned by tag only"),
        ("'actions/checkout@main'", "`uses: actions/checkout@main` is pinned by tag only"),
        ("actions/checkout@11d5960", "`uses: actions/checkout@11d5960` is pinned by tag only"),
        ("docker://alpine:3.22", "`uses: docker://alpine:3.22` is pinned by tag only"),
        (f"actions/checkout@{SHA}", f":7: `uses: actions/checkout@{SHA}` names no version"),
        (f"actions/checkout@{SHA} # v4.4.0", None),
        ("./.github/actions/local", None),
        (f"docker://alpine@sha256:{'0' * 64}", None),
    ],
)
def test_check_refuses_a_tag_only_uses_in_any_workflow_file(
    chain: Repo, uses: str, problem: str | None
) -> None:
    graph = chain.graph()
    workflow.write(graph)
    other = chain.root / ".github" / "workflows" / "other.yaml"
    other.write_text(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n"
        f"      - run: 'true'\n      - uses: {uses}\n",
        encoding="utf-8",
    )
    found = workflow.check(graph)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(f"{Path('.github/workflows/other.yaml')}")
        assert problem in found
        assert "git rev-parse" in found or "comment" in found
        assert "\n" not in found


def test_check_counts_every_unpinned_uses(chain: Repo) -> None:
    workflow.write(chain.graph())
    (chain.root / ".github" / "workflows" / "more.yml").write_text(
        "on: push\njobs:\n  j:\n    uses: org/repo/.github/workflows/w.yml@v1\n"
        "  k:\n    runs-on: x\n    steps:\n      - uses: actions/cache@v4\n",
        encoding="utf-8",
    )
    found = str(workflow.check(chain.graph()))
    assert "org/repo/.github/workflows/w.yml@v1" in found
    assert found.endswith("(and 1 more)")


def test_publish_uploads_each_images_reports_after_the_push(chain: Repo) -> None:
    """The SBOM and manifest the push's `invoke build` writes (artifacts/reports/, named in its
    summary) are uploaded with the pushed image; the build before the smoke tests writes none."""
    jobs = doc_of(chain)["jobs"]
    for n in range(3):
        steps = jobs[f"publish-{n}"]["steps"]
        pushes = next(i for i, s in enumerate(steps) if "--push" in str(s.get("run", "")))
        assert "--no-reports" not in steps[pushes]["run"], "the push writes the reports"
        uploads = [i for i, s in enumerate(steps)
                   if str(s.get("uses", "")).startswith("actions/upload-artifact@")
                   and s["with"]["path"] == "artifacts/reports/"]  # fmt: skip
        assert len(uploads) == 1, f"publish-{n}"
        assert uploads[0] > pushes, f"publish-{n} uploads before the push wrote them"
        name = steps[uploads[0]]["with"]["name"]
        assert name == "reports-${{ matrix.repository }}-${{ matrix.arch }}"
        before = [
            str(s.get("run", "")) for s in steps[:pushes] if "invoke build" in str(s.get("run"))
        ]
        assert before
        assert all("--no-reports" in r for r in before)


def test_the_schedule_checks_outdated_packages_and_scans_with_least_privilege(
    chain: Repo,
) -> None:
    doc = doc_of(chain)
    triggers = yaml.safe_load(workflow.expected(chain.graph()).replace("\non:", "\n'on':"))["on"]
    assert triggers["schedule"] == [{"cron": scheduled.CRON}]  # YAML 1.1 reads on: as true
    assert doc["permissions"] == {"contents": "read"}
    jobs = doc["jobs"]
    on_schedule = {name for name in jobs if runs_with_needs(jobs, name, SCHEDULE)}
    assert on_schedule == SCHEDULED_JOBS, "the schedule builds and pushes nothing"
    for event in (PR, MAIN, DISPATCH):
        assert not {n for n in SCHEDULED_JOBS if runs_for(jobs[n], event)}, event
    outdated = runs(jobs["outdated"]).splitlines()
    assert 'invoke outdated all --registry "$REGISTRY" --fail-on security' in outdated
    pulls = [line for line in outdated if "docker pull" in line]
    assert pulls, "a fresh runner has no image: outdated would check none"
    assert jobs["outdated"]["permissions"] == {"contents": "read", "packages": "read"}
    assert "permissions" not in jobs["inventory"]
    granted = {name for name, job in jobs.items()
               if "security-events" in (job.get("permissions") or {})}  # fmt: skip
    assert granted == {"scan"}
    scan = jobs["scan"]
    assert scan["permissions"] == {
        "contents": "read", "packages": "read", "security-events": "write",
    }  # fmt: skip
    assert scan["needs"] == ["inventory"]
    assert (
        scan["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.inventory.outputs.images) }}"
    )
    by_action = {str(s.get("uses", "")).split("@")[0]: s for s in scan["steps"]}
    trivy = by_action["aquasecurity/trivy-action"]["with"]
    upload = by_action["github/codeql-action/upload-sarif"]["with"]
    assert trivy["image-ref"] == "${{ matrix.ref }}"
    assert trivy["format"] == "sarif"
    assert upload["sarif_file"] == trivy["output"]
    assert upload["category"] == "trivy-${{ matrix.name }}", "one analysis per image"
    assert "invoke list --json --registry" in runs(jobs["inventory"])

"""Content tags (kfimages.build.taggers): inheritance along the parents, parsing, reuse, errors."""

from __future__ import annotations

import pytest

from kfimages.build.taggers import (
    TAGGERS,
    TaggerError,
    kept_refs,
    parse_version,
    probe_script,
    read_tags,
    resolve,
    split_probe,
)
from kfimages.errors import UserError
from tests.unit.conftest import Repo


def names(repo: Repo, image: str) -> list[str]:
    return [t.name for t in resolve(repo.graph(), image)]


def test_children_inherit_add_and_drop_taggers(chain: Repo) -> None:
    chain.write("base/image.yaml", "taggers: [date, debian]\n")
    chain.write("jupyter/image.yaml", "taggers: [python, lab]\n")
    chain.write(
        "pytorch/image.yaml",
        "taggers: [torch]\nvariants:\n  cuda:\n    taggers: [cuda, -lab]\n",
    )
    assert names(chain, "base") == ["date", "debian"]
    assert names(chain, "codeserver") == ["date", "debian"], "no image.yaml: the parent's"
    assert names(chain, "jupyter") == ["date", "debian", "python", "lab"]
    assert names(chain, "pytorch.cpu") == ["date", "debian", "python", "lab", "torch"]
    assert names(chain, "pytorch.cuda") == ["date", "debian", "python", "torch", "cuda"]


def test_a_tagger_named_again_is_applied_once(chain: Repo) -> None:
    chain.write("base/image.yaml", "taggers: [date, python]\n")
    chain.write("jupyter/image.yaml", "taggers: [python, lab, lab]\n")
    assert names(chain, "jupyter") == ["date", "python", "lab"]
    chain.write("jupyter/image.yaml", "taggers: [python, lab, -python]\n")
    assert names(chain, "jupyter") == ["date", "lab"], "dropped once: gone (it was there once)"
    taggers = resolve(chain.graph(), "pytorch.cpu")
    assert probe_script(taggers).count("@@kfimages-tagger lab") == 1, "one probe per tagger"


def test_unknown_or_undroppable_tagger_names_the_file(chain: Repo) -> None:
    chain.write("jupyter/image.yaml", "taggers: [pyhton]\n")
    with pytest.raises(UserError, match=r"jupyter/image.yaml: unknown tagger 'pyhton'; known:"):
        resolve(chain.graph(), "jupyter")
    chain.write("jupyter/image.yaml", "taggers: [-lab]\n")
    with pytest.raises(UserError, match="drops a tagger no parent applies"):
        resolve(chain.graph(), "jupyter")
    chain.write("jupyter/image.yaml", "taggers: python\n")
    with pytest.raises(UserError, match="taggers must be a list of tagger names"):
        chain.graph()


@pytest.mark.parametrize(
    ("tagger", "output", "tag"),
    [
        ("python", "3.13.5\n", "python-3.13.5"),
        ("lab", "4.6.6", "lab-4.6.6"),
        ("code-server", "4.139.1 1a2b3c with Code 1.106.0\n", "code-server-4.139.1"),
        ("code-server", "[warn] something\n4.139.1 1a2b3c\n", "code-server-4.139.1"),
        ("torch", "2.11.0+cu130", "torch-2.11.0"),
        ("cuda", "13.0", "cuda-13.0"),
        ("r", "4.5.0 \n", "r-4.5.0"),
        ("debian", "13", "debian-13"),
        ("date", "2026-11-27T21:06:00+00:00", "2026-11-27"),
    ],
)
def test_parse_version(tagger: str, output: str, tag: str) -> None:
    t = TAGGERS[tagger]
    version = parse_version(t, output=output, code=0, image="x")
    assert version is not None
    assert t.tag(version) == tag
    assert t.owns(tag)


def test_cpu_only_torch_gives_no_cuda_tag() -> None:
    assert parse_version(TAGGERS["cuda"], output="none\n", code=0, image="x") is None


def test_the_absent_answer_of_a_failed_command_is_an_error() -> None:
    """`none` means "no CUDA" only when the command succeeded; a failing one is reported."""
    with pytest.raises(TaggerError) as err:
        parse_version(TAGGERS["cuda"], output="none\n", code=1, image="pytorch.cuda")
    assert str(err.value).startswith("pytorch.cuda: tagger 'cuda' could not read a version:")
    assert "exited 1 and printed 'none'" in str(err.value)


def test_a_tagger_that_cannot_read_names_the_image_and_command() -> None:
    with pytest.raises(TaggerError) as err:
        parse_version(TAGGERS["lab"], output="ModuleNotFoundError: jupyterlab", code=1, image="j")
    message = str(err.value)
    assert message.startswith("j: tagger 'lab' could not read a version:")
    assert TAGGERS["lab"].command in message
    assert "exited 1" in message
    assert "ModuleNotFoundError" in message
    with pytest.raises(TaggerError, match="exited 0 and printed 'garbage'"):
        parse_version(TAGGERS["python"], output="garbage", code=0, image="j")


def test_probe_runs_every_command_tagger_once_and_splits() -> None:
    taggers = [TAGGERS[n] for n in ("date", "python", "lab")]
    script = probe_script(taggers)
    assert TAGGERS["python"].command in script
    assert TAGGERS["lab"].command in script
    output = (
        "@@kfimages-tagger python\n3.13.5\n@@kfimages-rc 0\n"
        "@@kfimages-tagger lab\nTraceback\nNo module\n@@kfimages-rc 1\n"
    )
    assert split_probe(output) == {"python": (0, "3.13.5"), "lab": (1, "Traceback\nNo module")}


def test_read_tags_one_container_and_the_date_label() -> None:
    calls: list[str] = []

    def run(ref: str, script: str) -> tuple[int, str]:
        calls.append(ref)
        return 0, "@@kfimages-tagger debian\n13\n@@kfimages-rc 0\n"

    taggers = [TAGGERS["date"], TAGGERS["debian"]]
    labels = {"org.opencontainers.image.created": "2026-11-27T21:06:00+00:00"}
    tags = read_tags("reg/a:t1", taggers, image="a", labels=labels, run=run)
    assert tags == ["2026-11-27", "debian-13"]
    assert calls == ["reg/a:t1"]
    assert read_tags("reg/a:t1", [TAGGERS["date"]], image="a", labels=labels, run=run) == [
        "2026-11-27"
    ]
    assert len(calls) == 1, "label-only taggers run no container"


def test_a_container_that_cannot_start_fails_tagging() -> None:
    def run(ref: str, script: str) -> tuple[int, str]:
        return 125, "docker: Error response from daemon: no such image"

    with pytest.raises(TaggerError, match="a: cannot run a container of reg/a:t1"):
        read_tags("reg/a:t1", [TAGGERS["python"]], image="a", labels={}, run=run)


def test_a_reused_image_keeps_its_content_tags_from_its_refs() -> None:
    taggers = [TAGGERS[n] for n in ("date", "python", "lab")]
    refs = [
        "reg/ns/jupyter:t1",
        "reg/ns/jupyter:latest",
        "reg/ns/jupyter:python-3.13.5",
        "reg/ns/jupyter:lab-4.6.6",
        "reg/ns/jupyter:2026-11-27",
        "reg/ns/jupyter:torch-2.11.0",  # not a tagger of this image
        "other/jupyter:python-3.13.5",  # another repository
        "reg/ns/jupyter:python-latest",  # not a version
    ]
    assert kept_refs("reg/ns/jupyter:t1", taggers, refs=refs) == [
        "reg/ns/jupyter:2026-11-27",
        "reg/ns/jupyter:lab-4.6.6",
        "reg/ns/jupyter:python-3.13.5",
    ]
    with_port = ["127.0.0.1:5000/ns/a:debian-13"]
    assert kept_refs("127.0.0.1:5000/ns/a:t1", [TAGGERS["debian"]], refs=with_port) == with_port


def test_another_platforms_content_tags_carry_its_suffix() -> None:
    """An arm64 image's content tags end in -arm64 (kfimages.platforms), and only those are
    kept when it is reused: the host's `python-3.13.5` belongs to another image."""
    taggers = [TAGGERS["date"], TAGGERS["python"]]
    refs = [
        "reg/ns/jupyter:latest-arm64",
        "reg/ns/jupyter:python-3.13.5-arm64",
        "reg/ns/jupyter:2026-11-27-arm64",
        "reg/ns/jupyter:python-3.13.5",  # the host's image's tag
        "reg/ns/jupyter:python-3.13.5-amd64",  # another suffix
    ]
    assert kept_refs("reg/ns/jupyter:latest-arm64", taggers, refs=refs, suffix="-arm64") == [
        "reg/ns/jupyter:2026-11-27-arm64",
        "reg/ns/jupyter:python-3.13.5-arm64",
    ]
    assert kept_refs("reg/ns/jupyter:latest", taggers, refs=refs) == [
        "reg/ns/jupyter:python-3.13.5"
    ]

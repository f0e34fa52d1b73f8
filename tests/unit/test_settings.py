"""Every KFIMAGES_* variable is read by Settings.from_environ (kfimages.settings)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kfimages.build.secrets import secret_files
from kfimages.errors import UserError
from kfimages.settings import DEFAULT_MIRROR, Settings, parse_jobs


def test_defaults() -> None:
    settings = Settings.from_environ({})
    assert settings == Settings()
    assert dict(settings.build_args) == {}
    assert settings.ca_cert == ()
    assert settings.debian_mirror == DEFAULT_MIRROR
    assert settings.base_ref == ""
    assert settings.jobs == 1
    assert settings.log_level == "INFO"


def test_empty_values_are_defaults() -> None:
    env = {
        "KFIMAGES_CA_CERT": "",
        "KFIMAGES_DEBIAN_MIRROR": "",
        "KFIMAGES_JOBS": "",
        "KFIMAGES_LOG_LEVEL": "",
    }
    assert Settings.from_environ(env) == Settings()


def test_reads_only_the_given_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFIMAGES_JOBS", "7")
    monkeypatch.setenv("KFIMAGES_BUILD_ARG_X", "1")
    assert Settings.from_environ({}).jobs == 1
    assert dict(Settings.from_environ({}).build_args) == {}
    assert Settings.from_environ().jobs == 7, "None: the process environment"


def test_build_args() -> None:
    env = {
        "KFIMAGES_BUILD_ARG_TORCH_INDEX_URL": "http://mirror/simple",
        "KFIMAGES_BUILD_ARG_EMPTY": "",
        "KFIMAGES_BUILD_ARG_": "no name",
        "KFIMAGES_BUILD_ARGX": "not one",
        "BUILD_ARG_Y": "not one",
        "PATH": "/bin",
    }
    args = Settings.from_environ(env).build_args
    assert dict(args) == {"TORCH_INDEX_URL": "http://mirror/simple", "EMPTY": ""}
    with pytest.raises(TypeError):
        args["NEW"] = "x"  # type: ignore[index]


def test_secret_ids_are_lower_cased(tmp_path: Path) -> None:
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text("[global]\n", encoding="utf-8")
    env = {
        "KFIMAGES_SECRET_PIP_CONF": str(pip_conf),
        "KFIMAGES_SECRET_": "no id",
        "KFIMAGES_SECRETS_X": "not one",
    }
    settings = Settings.from_environ(env)
    assert dict(settings.secrets) == {"pip_conf": str(pip_conf)}
    # the id a Dockerfile mounts (`RUN --mount=type=secret,id=pip_conf`) is the lower-cased one
    assert secret_files(settings) == {"pip_conf": pip_conf}
    with pytest.raises(UserError) as err:
        secret_files(Settings.from_environ({"KFIMAGES_SECRET_NETRC": str(tmp_path / "none")}))
    assert str(err.value).startswith(f"KFIMAGES_SECRET_NETRC={tmp_path / 'none'} is not a file")


def test_ca_cert_entries_split_by_path_separator() -> None:
    env = {"KFIMAGES_CA_CERT": f"/a/one.crt{os.pathsep}{os.pathsep}/etc/certs{os.pathsep}"}
    assert Settings.from_environ(env).ca_cert == ("/a/one.crt", "/etc/certs")
    assert os.pathsep == ":"


def test_plain_variables() -> None:
    env = {
        "KFIMAGES_DEBIAN_MIRROR": "http://mirror/debian",
        "KFIMAGES_BASE_REF": "origin/main",
        "KFIMAGES_JOBS": "3",
        "KFIMAGES_LOG_LEVEL": "debug",
    }
    settings = Settings.from_environ(env)
    assert settings.debian_mirror == "http://mirror/debian"
    assert settings.base_ref == "origin/main"
    assert settings.jobs == 3
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("two", "KFIMAGES_JOBS='two' is not a whole number; use e.g. 2"),
        ("1.5", "KFIMAGES_JOBS='1.5' is not a whole number; use e.g. 2"),
        ("0", "KFIMAGES_JOBS must be at least 1, not 0"),
        ("-2", "KFIMAGES_JOBS must be at least 1, not -2"),
    ],
)
def test_jobs_errors_are_one_line(value: str, problem: str) -> None:
    with pytest.raises(UserError) as err:
        Settings.from_environ({"KFIMAGES_JOBS": value})
    assert str(err.value) == problem


def test_parse_jobs_names_its_source() -> None:
    assert parse_jobs("4") == 4
    assert parse_jobs(2) == 2
    with pytest.raises(UserError, match=r"^--jobs='x' is not a whole number"):
        parse_jobs("x")
    with pytest.raises(UserError, match=r"^--jobs must be at least 1, not 0$"):
        parse_jobs(0)


def test_log_level_validation() -> None:
    for level in ("DEBUG", "info", "Warning", "ERROR"):
        assert Settings.from_environ({"KFIMAGES_LOG_LEVEL": level}).log_level == level.upper()
    with pytest.raises(UserError) as err:
        Settings.from_environ({"KFIMAGES_LOG_LEVEL": "verbose"})
    message = str(err.value)
    assert message.startswith("KFIMAGES_LOG_LEVEL=VERBOSE is not a log level")
    assert "DEBUG" in message
    assert "\n" not in message


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().jobs = 2  # type: ignore[misc]

"""Containers of a test: started, exec'd into, waited on, run to completion, always removed.

- `TrackedContainer.exec` runs a command under an in-container `timeout` and raises
  `ExecError` (command, exit code, stdout, stderr) on a non-zero exit or a timeout, unless
  the test asks for the code (`check=False`, or `expect_code=N`).
- `TrackedContainer.wait_until` and `wait_services_up` end at once when the container is
  no longer running (`ContainerDied`) or one of its s6 services failed (`ServiceFailed`,
  with the service's own lines of the container log), instead of waiting for their timeout.
- `loopback(PORT)` publishes a container's port on 127.0.0.1, on a host port Docker picks
  (`-p 127.0.0.1::PORT`); `TrackedContainer.host_port(PORT)` reads it back. Never the host
  network: a fixed host port races other runs for it, and the host network opens the server
  on every interface of the host.
- `TrackedContainers.run_to_exit` runs a command through the image's entrypoint and
  returns the command's own stdout and stderr (captured to files, apart from the
  container log, which services and the init write to as well) with the exit code.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import shlex
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import docker.errors

from tests.harness.waiting import GiveUp, wait_until

T = TypeVar("T")
log = logging.getLogger(__name__)

Command = str | Sequence[str]
"""A string runs with `bash -c`; a sequence runs as it is."""

TIMEOUT_EXIT = 124
"""coreutils `timeout`'s exit code when the command ran out of time."""
KILL_AFTER_S = 5
LOG_TAIL_LINES = 40
OUTPUT_TAIL_CHARS = 3000
SCAN_DIR = "/run/service"
"""Where base's /init supervises the services of /etc/services.d (s6-svscan's scan dir)."""
CAPTURE_DIR = "/kfnb-capture"
_CAPTURE_SCRIPT = f'exec "$@" >{CAPTURE_DIR}/stdout 2>{CAPTURE_DIR}/stderr'
_SERVICES_SCRIPT = (
    f'for d in {SCAN_DIR}/*/; do [ -d "$d" ] || continue; n=${{d%/}}; printf "%s " "${{n##*/}}"; '
    's6-svstat -o up,wantedup,pid,exitcode,signum,updownfor "$d" 2>/dev/null || echo; done'
)
LOOPBACK = "127.0.0.1"
STEADY_S = 1
"""A service counts as started once up this long: a run script that execs a missing program
is "up" for a few milliseconds, every second (s6-supervise's restart delay)."""


def loopback(*ports: int) -> dict[str, tuple[str, None]]:
    """docker SDK `ports` publishing each container TCP port on 127.0.0.1, on a host port
    Docker picks (`-p 127.0.0.1::PORT`); read it back with `TrackedContainer.host_port`."""
    return {f"{port}/tcp": (LOOPBACK, None) for port in ports}


def argv_of(command: Command) -> list[str]:
    return ["bash", "-c", command] if isinstance(command, str) else list(command)


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def _tail(text: str, chars: int = OUTPUT_TAIL_CHARS) -> str:
    return text if len(text) <= chars else "..." + text[-chars:]


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container did."""

    command: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout, then stderr."""
        return self.stdout + self.stderr


@dataclass(frozen=True)
class RunResult(ExecResult):
    """A container run to completion: the command's own stdout/stderr, and the container log
    (the init's and the services' lines; the command's output is not in it)."""

    logs: str


class ExecError(AssertionError):
    """A command in a container exited with another code than expected, or timed out."""

    def __init__(
        self, where: str, result: ExecResult, *, problem: str, log_tail: str | None = None
    ) -> None:
        self.result = result
        parts = [
            f"`{shlex.join(result.command)}` in {where} {problem}",
            f"--- stdout ---\n{_tail(result.stdout)}",
            f"--- stderr ---\n{_tail(result.stderr)}",
        ]
        if log_tail is not None:
            parts.append(f"--- container log (end) ---\n{log_tail}")
        super().__init__("\n".join(parts))


class ContainerDied(GiveUp):
    """The container stopped while a test waited on it or exec'd into it."""


class ServiceFailed(GiveUp):
    """An s6 service of the container is down after its run script ended (crash loop)."""


def _expected_code(*, check: bool, expect_code: int | None) -> int | None:
    if expect_code is not None:
        return expect_code
    return 0 if check else None


@dataclass(frozen=True)
class ServiceState:
    """One line of `s6-svstat -o up,wantedup,pid,exitcode,signum,updownfor`."""

    name: str
    up: bool
    wanted_up: bool
    pid: int
    exit_code: int
    signum: int
    seconds: int = 0
    """For how long it has been up, or down (whole seconds)."""

    @property
    def steady(self) -> bool:
        """Up for STEADY_S seconds at least (not a crash loop's short "up")."""
        return self.up and self.seconds >= STEADY_S

    @property
    def supervised(self) -> bool:
        return self.pid != -2

    @property
    def failed(self) -> bool:
        """Down although wanted up, after its run script failed (a non-zero exit or a signal):
        s6 restarts it in a loop. (A service not spawned yet also reads "down, exit code 0".)"""
        return (
            self.supervised
            and self.wanted_up
            and not self.up
            and (self.exit_code > 0 or self.signum > 0)
        )

    def describe(self) -> str:
        if not self.supervised:
            return "not supervised yet"
        if self.up:
            return f"up (pid {self.pid})"
        if self.signum > 0:
            return f"down: its run script was killed by signal {self.signum}"
        if self.exit_code >= 0:
            return f"down: its run script exited {self.exit_code}"
        return "down (not started yet)"

    @classmethod
    def parse(cls, line: str) -> ServiceState | None:
        fields = line.split()
        if not fields:
            return None
        if len(fields) != 7:  # no supervisor yet: s6-svstat failed
            return cls(fields[0], up=False, wanted_up=True, pid=-2, exit_code=-1, signum=-1)
        name, up, wanted, pid, code, signum, seconds = fields
        return cls(
            name,
            up=up == "true",
            wanted_up=wanted == "true",
            pid=int(pid),
            exit_code=int(code),
            signum=int(signum) if signum.lstrip("-").isdigit() else -1,
            seconds=int(float(seconds)) if seconds.replace(".", "", 1).isdigit() else 0,
        )


class TrackedContainer:
    """A container started by `TrackedContainers` (the docker SDK object is `raw`)."""

    def __init__(self, raw: Any, image: str) -> None:
        self.raw = raw
        self.image = image

    def __repr__(self) -> str:
        return f"container {self.short_id} of {self.image}"

    @property
    def id(self) -> str:
        return str(self.raw.id)

    @property
    def short_id(self) -> str:
        return str(self.raw.short_id)

    @property
    def attrs(self) -> dict[str, Any]:
        attrs: dict[str, Any] = self.raw.attrs
        return attrs

    def reload(self) -> None:
        self.raw.reload()

    def host_port(self, port: int) -> int:
        """The host port of 127.0.0.1 that Docker published the container's TCP `port` on
        (`loopback(port)` when it was started)."""
        self.reload()
        bindings = self.attrs["NetworkSettings"]["Ports"].get(f"{port}/tcp") or []
        for binding in bindings:
            if binding.get("HostIp") == LOOPBACK and binding.get("HostPort"):
                return int(binding["HostPort"])
        raise AssertionError(
            f"{self}: port {port} is not published on {LOOPBACK} ({bindings}); start it with "
            f"ports=loopback({port})"
        )

    def is_running(self) -> bool:
        try:
            self.raw.reload()
        except docker.errors.NotFound:
            return False
        return str(self.raw.status) in ("created", "running")

    def exit_code(self) -> int | None:
        """The container's exit code once it stopped, else None."""
        if self.is_running():
            return None
        return int(self.attrs["State"]["ExitCode"])

    def logs(self, *, stdout: bool = True, stderr: bool = True) -> str:
        """The container log (the init's, the services' and a `docker run` command's output)."""
        try:
            return _decode(self.raw.logs(stdout=stdout, stderr=stderr))
        except docker.errors.NotFound:
            return "(container removed)"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])

    def stop(self, *, timeout: int = 30) -> None:
        self.raw.stop(timeout=timeout)

    def wait_exit(self, *, timeout: float) -> int:
        """Wait until the container stops; its exit code. Fails with its log after `timeout`."""
        try:
            status = self.raw.wait(timeout=timeout)
        except Exception as exc:  # requests' ReadTimeout / ConnectionError
            raise AssertionError(
                f"{self} did not exit within {timeout}s:\n{self.log_tail()}"
            ) from exc
        return int(status["StatusCode"])

    def died(self, doing: str) -> ContainerDied:
        code = self.exit_code()
        return ContainerDied(
            f"{self} is no longer running (exit code {code}) {doing}:\n{self.log_tail()}"
        )

    # --- exec ---------------------------------------------------------------------------

    def exec(
        self,
        command: Command,
        *,
        timeout: int = 60,
        user: str | None = None,
        environment: Mapping[str, str] | None = None,
        workdir: str | None = None,
        check: bool = True,
        expect_code: int | None = None,
    ) -> ExecResult:
        """Run `command` in the running container under `timeout --kill-after=5 <timeout>`.

        Raises ExecError when it times out (unless `expect_code=124`) or when its exit code
        is not `expect_code` (default 0; `check=False`: any code is fine), ContainerDied when
        the container is not running.
        """
        argv = argv_of(command)
        wrapped = ["timeout", f"--kill-after={KILL_AFTER_S}", str(timeout), *argv]
        try:
            raw = self.raw.exec_run(
                wrapped,
                user=user or "",
                environment=dict(environment) if environment is not None else None,
                workdir=workdir,
                demux=True,
            )
        except docker.errors.APIError as exc:
            if not self.is_running():
                raise self.died(f"(exec of `{shlex.join(argv)}`)") from exc
            raise
        stdout, stderr = raw.output if raw.output is not None else (None, None)
        result = ExecResult(tuple(argv), int(raw.exit_code), _decode(stdout), _decode(stderr))
        expected = _expected_code(check=check, expect_code=expect_code)
        if result.code == TIMEOUT_EXIT and expected != TIMEOUT_EXIT:
            raise ExecError(str(self), result, problem=f"timed out after {timeout}s")
        if expected is not None and result.code != expected:
            problem = f"exited {result.code}" + (f", expected {expected}" if expected else "")
            raise ExecError(str(self), result, problem=problem)
        return result

    def clock(self) -> datetime:
        """The container's clock now (UTC): what its scripts read with `date` and `stat`."""
        return datetime.fromtimestamp(float(self.exec(["date", "+%s.%N"]).stdout), UTC)

    def wait_clock_past(self, moment: datetime, *, by: float = 1) -> None:
        """Wait until the container's clock is more than `by` seconds past `moment`: from
        then on a time the container reads "now" (whole seconds) differs from `moment`, so a
        value still equal to `moment` did not move. A wait on that condition, not a sleep."""
        self.wait_until(
            lambda: (self.clock() - moment).total_seconds() > by,
            timeout=by + 60,
            interval=0.2,
            message=f"the clock to pass {moment.isoformat()} by {by}s",
        )

    def read_file(self, path: str, *, user: str | None = None) -> str:
        return self.exec(["cat", path], user=user).stdout

    def write_file(self, path: str, data: bytes, *, user: str | None = None) -> None:
        """Write `data` to `path` as `user` (default: the container's user); through exec, as
        the archive API refuses containers with a read-only root."""
        encoded = base64.b64encode(data).decode()
        self.exec(f"printf %s {encoded} | base64 -d > {shlex.quote(path)}", user=user)

    # --- waiting ------------------------------------------------------------------------

    def check_running(self) -> None:
        """Raise ContainerDied (a GiveUp) when the container is no longer running."""
        if not self.is_running():
            raise self.died("while a test waited on it")

    def check_services(self) -> None:
        """Raise ServiceFailed (a GiveUp) when one of the supervised services failed."""
        for state in self.services():
            if state.failed:
                raise self.service_failure(state)

    def wait_until(
        self,
        probe: Callable[[], T | None],
        *,
        timeout: float,
        interval: float = 0.25,
        message: str = "condition",
        services: bool = True,
    ) -> T:
        """`waiting.wait_until`, ending at once when the container stopped or (with
        `services`, the default) one of its s6 services failed. A test that kills a service
        on purpose passes `services=False`."""

        def check() -> None:
            self.check_running()
            if services:
                self.check_services()

        return wait_until(
            probe, timeout=timeout, interval=interval, message=f"{message} in {self}", check=check
        )

    # --- s6 services ----------------------------------------------------------------------

    def services(self) -> list[ServiceState]:
        """The state of every service the init supervises (those of /etc/services.d); a
        container that stopped meanwhile is ContainerDied (the runtime's `cannot exec in a
        stopped state` is no service's line)."""
        done = self.exec(["sh", "-c", _SERVICES_SCRIPT], timeout=30, check=False)
        if done.code != 0 and not self.is_running():
            raise self.died("while its services were read")
        return [s for s in map(ServiceState.parse, done.stdout.splitlines()) if s is not None]

    def service(self, name: str) -> ServiceState | None:
        return next((s for s in self.services() if s.name == name), None)

    def service_failure(self, state: ServiceState) -> ServiceFailed:
        """ServiceFailed for `state`, with the service's lines of the container log (those
        naming it or its run/finish script, and the line after the latter: a shell writes its
        error in pieces, and another service's line, started at the same moment, can land
        between them; else the log's end)."""
        lines = self.logs().splitlines()
        scripts = ("./run:", "./finish:", "run:", "finish:")
        own = [
            line
            for index, line in enumerate(lines)
            if state.name in line
            or line.startswith(scripts)
            or (index > 0 and lines[index - 1].startswith(scripts))
        ]
        shown = "\n".join((own or lines)[-20:])
        return ServiceFailed(
            f"service {state.name} of {self} failed: {state.describe()} (s6 restarts it over "
            f"and over); its lines in the container log:\n{shown}"
        )

    def declared_services(self) -> list[str]:
        """Names of the services of /etc/services.d (those with a run script)."""
        out = self.exec(
            ["sh", "-c", 'for r in /etc/services.d/*/run; do [ -e "$r" ] && echo "$r"; done'],
            check=False,
        ).stdout
        return sorted(line.split("/")[-2] for line in out.split())

    def wait_services_up(
        self, names: Sequence[str] | None = None, *, timeout: float = 120
    ) -> dict[str, ServiceState]:
        """Wait until the services `names` (default: all of /etc/services.d) are up, and have
        been for a second (STEADY_S); their states. Fails at once when one of them failed
        (ServiceFailed, with its error) or the container stopped (ContainerDied)."""
        wanted = list(names) if names is not None else self.declared_services()
        if not wanted:
            return {}

        def probe() -> dict[str, ServiceState] | None:
            states = {s.name: s for s in self.services()}
            for name in wanted:
                state = states.get(name)
                if state is not None and state.failed:
                    raise self.service_failure(state)
            if all(name in states and states[name].steady for name in wanted):
                return {name: states[name] for name in wanted}
            return None

        return self.wait_until(
            probe, timeout=timeout, message=f"services {', '.join(wanted)} up", services=False
        )


def _with_volume(volumes: Any, host: str, bind: str) -> Any:
    """docker SDK `volumes` (a dict or a list of "host:bind[:mode]") plus host -> bind."""
    if volumes is None:
        return {host: {"bind": bind, "mode": "rw"}}
    if isinstance(volumes, Mapping):
        return {**volumes, host: {"bind": bind, "mode": "rw"}}
    return [*volumes, f"{host}:{bind}:rw"]


class TrackedContainers:
    """Starts containers (of the image under test unless `image=` names another one) and
    removes them all, with their anonymous volumes, on `remove_all()`. `defaults`: docker SDK
    `containers.run` keyword arguments every container gets unless the call gives its own
    (e.g. the GPUs, tests.harness.gpu)."""

    def __init__(
        self,
        client: Any,
        default_image: str | Callable[[], str] | None,
        *,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.client = client
        self._default_image = default_image
        self.defaults = dict(defaults or {})
        self.started: list[TrackedContainer] = []

    def _image(self, image: str | None) -> str:
        if image is not None:
            return image
        if self._default_image is None:
            raise AssertionError("no image: pass image=")
        if callable(self._default_image):
            self._default_image = self._default_image()
        return self._default_image

    def run(
        self, command: Command | None = None, *, image: str | None = None, **kwargs: Any
    ) -> TrackedContainer:
        """Start a detached container (docker SDK `containers.run` keyword arguments). It is
        tracked from its creation, so a container the engine creates but cannot start (GPUs
        it cannot give) is removed too. An image not here is pulled, as `containers.run` does."""
        ref = self._image(image)
        argv = None if command is None else argv_of(command)
        options = {**self.defaults, **kwargs}
        try:
            raw = self.client.containers.create(ref, argv, **options)
        except docker.errors.ImageNotFound:
            self.client.images.pull(ref, platform=options.get("platform"))
            raw = self.client.containers.create(ref, argv, **options)
        container = TrackedContainer(raw, ref)
        self.started.append(container)
        raw.start()
        log.info("started %s", container)
        return container

    def run_to_exit(
        self,
        command: Command | None,
        *,
        image: str | None = None,
        timeout: float = 180,
        check: bool = True,
        expect_code: int | None = None,
        **kwargs: Any,
    ) -> RunResult:
        """Run `command` through the image's entrypoint (or `entrypoint=`) until the container
        exits; the command's own stdout and stderr, the exit code and the container log.
        `command=None`: the image's own default (no stdout or stderr of a command then).

        The command's output goes to files of a bind-mounted host folder (writable by any
        uid), so what a service or the init prints never mixes into it. Raises ExecError
        (with the container log's end) when the exit code is not `expect_code` (default 0;
        `check=False`: any code), AssertionError when it runs longer than `timeout`.
        """
        argv = argv_of(command) if command is not None else []
        capture = Path(tempfile.mkdtemp(prefix="kfnb-run-"))
        try:
            capture.chmod(0o777)
            kwargs["volumes"] = _with_volume(kwargs.get("volumes"), str(capture), CAPTURE_DIR)
            wrapper = ["sh", "-c", _CAPTURE_SCRIPT, "kfnb-capture"]
            entrypoint = kwargs.pop("entrypoint", None)
            if command is None and entrypoint is None:  # what the image runs by itself
                container = self.run(None, image=image, **kwargs)
            elif entrypoint is not None:
                given = shlex.split(entrypoint) if isinstance(entrypoint, str) else entrypoint
                container = self.run(argv, image=image, entrypoint=[*wrapper, *given], **kwargs)
            else:
                container = self.run([*wrapper, *argv], image=image, **kwargs)
            code = container.wait_exit(timeout=timeout)
            result = RunResult(
                tuple(argv),
                code,
                _read(capture / "stdout"),
                _read(capture / "stderr"),
                logs=container.logs(),
            )
        finally:
            shutil.rmtree(capture, ignore_errors=True)
        expected = _expected_code(check=check, expect_code=expect_code)
        if expected is not None and result.code != expected:
            problem = f"exited {result.code}" + (f", expected {expected}" if expected else "")
            raise ExecError(
                f"`docker run` of {container.image}",
                result,
                problem=problem,
                log_tail="\n".join(result.logs.splitlines()[-LOG_TAIL_LINES:]),
            )
        return result

    def remove_all(self) -> None:
        for container in self.started:
            with contextlib.suppress(docker.errors.NotFound):
                container.raw.remove(force=True, v=True)
        self.started.clear()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:  # the command never ran (the init stopped before it)
        return ""

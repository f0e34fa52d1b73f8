"""A JupyterLab terminal driven as the Lab UI drives it: created over REST, typed into over its
WebSocket, its output read back. The client runs inside the container (Python with tornado,
a dependency of jupyter_server), so no host port is needed.

Also used by the tests of the images built FROM jupyter.
"""

from __future__ import annotations

import json

from tests.harness.containers import TrackedContainer

END = "KFNB-TERMINAL-END"

# argv: base URL, the line to type, the end marker, a timeout in seconds. Prints the
# terminal's output (JSON string) once the end marker shows up as output.
_CLIENT = r"""
import asyncio, http.cookiejar, json, sys, urllib.request
from tornado import httpclient, websocket

base, line, end, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
opener.open(f"{base}/lab").read()  # the page sets the _xsrf cookie, as in a browser
xsrf = next(c.value for c in jar if c.name == "_xsrf")
request = urllib.request.Request(
    f"{base}/api/terminals", data=b"{}", method="POST",
    headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"},
)
name = json.load(opener.open(request))["name"]

async def main():
    url = f"{base.replace('http', 'ws', 1)}/terminals/websocket/{name}"
    ws = await websocket.websocket_connect(
        httpclient.HTTPRequest(url, headers={"Cookie": f"_xsrf={xsrf}"})
    )
    ws.write_message(json.dumps(["set_size", 24, 200, 600, 800]))
    ws.write_message(json.dumps(["stdin", line + "\r"]))
    out = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while end not in out:
        message = await asyncio.wait_for(ws.read_message(), max(deadline - loop.time(), 0.1))
        if message is None:
            break
        kind, *rest = json.loads(message)
        if kind == "stdout":
            out += rest[0]
    ws.close()
    print(json.dumps({"name": name, "output": out}))

asyncio.run(main())
"""


def run_in_lab_terminal(
    container: TrackedContainer, base: str, line: str, *, timeout: int = 60
) -> str:
    """Open a new Lab terminal (REST), type `line` and Enter into it (WebSocket) and return
    what the terminal printed up to the end marker. `line` must print `END` last, built so
    that the typed text itself does not contain it (e.g. `echo KFNB-TERMINAL-""END`)."""
    out = container.exec(
        ["python", "-c", _CLIENT, base, line, END, str(timeout)], timeout=timeout + 30
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    output = str(result["output"])
    assert END in output, f"terminal {result['name']} did not finish:\n{output[-3000:]}"
    return output.replace("\r\n", "\n")


def report(output: str, prefix: str = "kfnb-") -> dict[str, str]:
    """`prefix<key>=<value>` lines of a terminal's output as a dict (the typed line is echoed
    too: build the prefix in the shell, e.g. `printf 'kfnb-%s=%s\\n' pip "$(command -v pip)"`,
    so that the echo does not match)."""
    values: dict[str, str] = {}
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith(prefix) and "=" in line:
            key, _, value = line[len(prefix) :].partition("=")
            values[key] = value
    return values


def env_report_line(commands: dict[str, str]) -> str:
    """A shell line printing `kfnb-<key>=<value of the shell expression>` for each entry, then
    the end marker."""
    parts = [f"printf 'kfnb-%s=%s\\n' {key} \"{expr}\"" for key, expr in commands.items()]
    return "; ".join([*parts, f'echo {END[:-3]}""{END[-3:]}'])

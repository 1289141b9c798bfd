"""Load generators for the bench: `wrk` when installed, else a Python one that costs little.

Both keep `clients` connections busy for a fixed time and count every answer but a 200 as an
error. gunicorn's sync workers close the connection after each response, so every request
opens its own connection (wrk does the same against them).

The Python generator is one thread and a `selectors` loop over non-blocking sockets with
each request's bytes built beforehand: threads and http.client cost the client several
times the CPU, and on a 2-core machine the client's CPU is taken from the servers it measures.
"""

from __future__ import annotations

import errno
import math
import os
import re
import selectors
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

# What a browser sends, so the server pays for compressing as it does for real visitors.
ACCEPT_ENCODING = "br, gzip, deflate"


def percentile(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Call:
    """One HTTP request, as the load generator sends it."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None

    def body(self) -> bytes:
        return urlencode(self.form).encode() if self.form is not None else b""

    def raw(self, port: int) -> bytes:
        body = self.body()
        lines = [
            f"{self.method} {self.path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            f"Accept-Encoding: {ACCEPT_ENCODING}",
            "Connection: close",
            *(f"{k}: {v}" for k, v in self.headers.items()),
        ]
        if self.form is not None:
            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Load:
    """One fixed-time run against one page."""

    requests: int  # responses received, whatever their status
    seconds: float
    p50_ms: float
    p99_ms: float
    not_ok: dict[str, int]  # "HTTP 409": n, "ConnectionResetError": n: anything but a 200
    client_cpu: float | None = None  # CPU seconds the Python generator used itself
    ran_out: bool = False  # a stream of one-off requests ended before the time was up

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return sum(self.not_ok.values())


class _Connection:
    __slots__ = ("sock", "started", "head", "sent", "request")

    def __init__(self, request: bytes):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.started = time.perf_counter()
        self.head = b""
        self.sent = 0
        self.request = request


def python_load(
    port: int, calls: Iterator[Call], clients: int, seconds: float, *, stream: bool = False
) -> Load:
    """Keep `clients` requests in flight for `seconds`, taking each next request from `calls`.

    `stream`: the calls are one-off (each approves a different request) and may run out;
    the run then ends when the last answer arrives, and the rate is over that time.
    """
    address = ("127.0.0.1", port)
    selector = selectors.DefaultSelector()
    latencies: list[float] = []
    not_ok: dict[str, int] = {}
    ran_out = False
    cpu = time.process_time()
    began = time.perf_counter()
    deadline = began + seconds
    last = began

    def count(kind: str) -> None:
        not_ok[kind] = not_ok.get(kind, 0) + 1

    def start() -> bool:
        nonlocal ran_out
        call = next(calls, None)
        if call is None:
            ran_out = True
            return False
        connection = _Connection(call.raw(port))
        code = connection.sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS):
            connection.sock.close()
            count(errno.errorcode.get(code, str(code)))
            return True
        selector.register(connection.sock, selectors.EVENT_WRITE, connection)
        return True

    def finish(connection: _Connection, error: str | None) -> None:
        nonlocal last
        selector.unregister(connection.sock)
        connection.sock.close()
        now = time.perf_counter()
        last = now
        if error:
            count(error)
            return
        latencies.append((now - connection.started) * 1000)
        status = connection.head[9:12]
        if status != b"200":
            count(f"HTTP {status.decode(errors='replace') or '?'}")

    for _ in range(clients):
        if not start():
            break
    while selector.get_map():
        if time.perf_counter() > deadline + 30:  # a server that stopped answering
            for key in list(selector.get_map().values()):
                finish(key.data, "timeout")
            break
        for key, events in selector.select(timeout=1):
            connection: _Connection = key.data
            sock = connection.sock
            try:
                if events & selectors.EVENT_WRITE:
                    if connection.sent == 0:
                        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if code:
                            raise OSError(code, os.strerror(code))
                    connection.sent += sock.send(connection.request[connection.sent :])
                    if connection.sent >= len(connection.request):
                        selector.modify(sock, selectors.EVENT_READ, connection)
                    continue
                data = sock.recv(65536)
                if data:
                    if len(connection.head) < 12:
                        connection.head += data[:12]
                    continue
                finish(connection, None)
            except OSError as error:
                finish(connection, type(error).__name__)
            # One answered (or failed): the next request takes its place while time remains.
            if time.perf_counter() < deadline and not ran_out:
                start()
    elapsed = (last if stream and ran_out else time.perf_counter()) - began
    return Load(
        len(latencies),
        elapsed,
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        not_ok,
        time.process_time() - cpu,
        ran_out,
    )


# -- wrk ----------------------------------------------------------------------------------------

# Reads the requests (method, path, headers, body; one per line, tab-separated, headers as
# name=value pairs joined by \1) and sends them in turn; a stream is sent once, in order.
_WRK_SCRIPT = r"""
local calls = {}
local threads = {}
local next_call = 1
function setup(thread) table.insert(threads, thread) end
function init(args)
  not_ok = 0
  for line in io.lines(os.getenv("BENCH_CALLS")) do
    local method, path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local h = {["Accept-Encoding"] = os.getenv("BENCH_ACCEPT_ENCODING")}
    for name, value in headers:gmatch("([^=\1]+)=([^\1]*)") do h[name] = value end
    table.insert(calls, {method, path, h, body ~= "" and body or nil})
  end
end
function request()
  local call = calls[next_call]
  next_call = next_call % #calls + 1
  return wrk.format(call[1], call[2], call[3], call[4])
end
function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
  local not_ok = 0
  for _, t in ipairs(threads) do not_ok = not_ok + t:get("not_ok") end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), not_ok,
    e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_load(
    wrk: str, workdir: Path, port: int, calls: list[Call], clients: int, seconds: float
) -> Load:
    """wrk with one thread and `clients` connections, sending `calls` in turn (cycling)."""
    script = workdir / "bench.lua"
    script.write_text(_WRK_SCRIPT)
    listing = workdir / "calls.tsv"
    with listing.open("w") as out:
        for call in calls:
            headers = "\1".join(f"{k}={v}" for k, v in call.headers.items())
            if call.form is not None:
                headers += "\1Content-Type=application/x-www-form-urlencoded"
            out.write(f"{call.method}\t{call.path}\t{headers}\t{call.body().decode()}\n")
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{clients}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
        ],
        env={**os.environ, "BENCH_CALLS": str(listing), "BENCH_ACCEPT_ENCODING": ACCEPT_ENCODING},
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out.stdout, re.M)
    if not found:
        raise RuntimeError(f"wrk gave no result: {(out.stderr or out.stdout).strip()[:300]}")
    requests, duration, p50, p99, not_200, socket_errors = map(int, found.groups())
    not_ok = {}
    if not_200:
        not_ok["not 200"] = not_200
    if socket_errors:
        not_ok["socket errors"] = socket_errors
    return Load(requests, duration / 1e6, p50 / 1000, p99 / 1000, not_ok)

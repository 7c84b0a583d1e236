"""HTTP load from ``wrk`` (Debian's ``wrk`` package), so that the load
generator is not the bottleneck: a Python client tops out around the
ceilings we measure on these 2 cores, wrk's C loop does not.

Two Lua scripts, sharing their summary. The first cycles through a file of paths and, for
POSTs, sends a distinct JSON body and a distinct X-Forwarded-For per request
(checkout is rate-limited per client and per e-mail, as it is in production);
``done`` prints the figures as one JSON line. A line of the file may carry,
after a tab, more JSON members for that request's body (a basket's
``"items": [1, 2, 3]``); the e-mail is always added. The second
(``wrk_prepared``) POSTs requests prepared beforehand, each a header's value and
a body (the webhooks' events, signed before the load), in order."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# What both scripts share: each thread registered, and the figures summed over them as one JSON line.
SUMMARY = r"""
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local server_errors, created = 0, 0
  for _, thread in ipairs(threads) do
    server_errors = server_errors + (thread:get("server_errors") or 0)
    created = created + (thread:get("created") or 0)
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"server_errors": %d, "created": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, server_errors, created))
end
"""

SCRIPT = (
    r"""
local paths = {}
local extras = {}
local method = "GET"
local counter = 0
local thread_id = 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = string.find(line, "\t", 1, true)
    if tab then
      paths[#paths + 1] = string.sub(line, 1, tab - 1)
      extras[#paths] = ", " .. string.sub(line, tab + 1)
    else
      paths[#paths + 1] = line
      extras[#paths] = ""
    end
  end
  method = args[2] or "GET"
  thread_id = tonumber(args[3] or "0")
  server_errors = 0
  created = 0
  if method == "POST" then
    -- Defined only for POSTs: wrk parses every response more slowly when a script reads them.
    function response(status, headers, body)
      if status >= 500 then server_errors = server_errors + 1 end
      if status == 201 then created = created + 1 end
    end
  end
end

function request()
  counter = counter + 1
  local index = (counter - 1) % #paths + 1
  local path = paths[index]
  if method == "POST" then
    local n = thread_id * 1000000 + counter
    local body = string.format('{"email": "wrk%d@example.org"%s}', n, extras[index])
    local headers = {
      ["Content-Type"] = "application/json",
      -- One client address per request, across rounds too: 250 addresses reached the
      -- per-client hold cap (HOLDS_MAX_PER_CLIENT) after a few rounds, and 429s are cheap.
      ["X-Forwarded-For"] = string.format(
        "10.%d.%d.%d", thread_id % 256, math.floor(counter / 250) % 250, counter % 250 + 1
      ),
    }
    return wrk.format("POST", path, headers, body)
  end
  return wrk.format("GET", path)
end

"""
    + SUMMARY
)


# Prepared requests: each line of the file is one request's header value, a tab, then its body (one
# line of JSON), all POSTed to the one path wrk is given with that header; cycled through in order.
PREPARED_SCRIPT = (
    r"""
local requests = {}
local header = ""
function init(args)
  for line in io.lines(args[1]) do
    local tab = string.find(line, "\t", 1, true)
    requests[#requests + 1] = {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)}
  end
  header = args[2]
  counter = 0
  server_errors = 0
  created = 0
end

function request()
  counter = counter + 1
  local prepared = requests[(counter - 1) % #requests + 1]
  local headers = {["Content-Type"] = "application/json", [header] = prepared[1]}
  return wrk.format("POST", nil, headers, prepared[2])
end

function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1 end
  if status >= 200 and status < 300 then created = created + 1 end
end
"""
    + SUMMARY
)


@dataclass
class WrkResult:
    requests: int
    seconds: float
    non_2xx_3xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    server_errors: int = 0  # counted for POSTs only
    created: int = 0  # 201 answers, counted for POSTs only

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def require() -> None:
    if not available():
        raise SystemExit(
            "wrk is missing: the benchmarks need it as their load generator (a Python client is slower "
            "than the ceilings it would measure). Install it with `apt-get install -y wrk` (Debian) and run again."
        )


def parse(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line[len("WRK_JSON ") :])
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                non_2xx_3xx=data["non_2xx_3xx"],
                socket_errors=data["connect_errors"] + data["read_errors"] + data["timeouts"],
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                server_errors=data["server_errors"],
                created=data["created"],
            )
    raise RuntimeError(f"wrk printed no figures:\n{output}")


def wrk(
    base_url: str, paths: list[str], *, seconds: float, connections: int = 8, method: str = "GET", seed: int = 0
) -> WrkResult:
    """``connections`` keep-alive connections on one wrk thread for ``seconds``. A path may be
    followed by a tab and JSON members added to that request's POST body."""
    require()
    with tempfile.TemporaryDirectory(prefix="tremma-wrk-") as folder:
        script = Path(folder) / "bench.lua"
        script.write_text(SCRIPT)
        listing = Path(folder) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base_url + paths[0].split("\t", 1)[0],
            "--",
            str(listing),
            method,
            str(seed),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return parse(done.stdout)


def wrk_prepared(
    url: str, requests: list[tuple[str, bytes]], *, header: str, seconds: float, connections: int = 8
) -> WrkResult:
    """POST prepared requests to ``url`` (each: the value of ``header`` and a one-line body), in
    order and cycling, for ``seconds``; ``created`` counts the 2xx answers."""
    require()
    with tempfile.TemporaryDirectory(prefix="tremma-wrk-") as folder:
        script = Path(folder) / "prepared.lua"
        script.write_text(PREPARED_SCRIPT)
        listing = Path(folder) / "requests.txt"
        lines = []
        for value, body in requests:
            if b"\n" in body or "\t" in value or "\n" in value:
                raise ValueError("a prepared request is one line: a header value without tabs, a body without newlines")
            lines.append(value.encode() + b"\t" + body)
        listing.write_bytes(b"\n".join(lines) + b"\n")
        command = [
            "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
            "-s", str(script), url, "--", str(listing), header,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return parse(done.stdout)

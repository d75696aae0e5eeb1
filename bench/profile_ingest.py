"""Profile one server process under ingest load with py-spy (a flame graph SVG and a top-style summary).

.venv/bin/python -m bench.profile_ingest [--stack sqlite|pg] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys

from bench import loadgen
from bench.ingest_http import _requests, _setup
from bench.servers import server, stack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", default="sqlite")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--out", default="ingest-profile.svg")
    args = parser.parse_args()
    if not shutil.which(sys.executable.replace("python", "py-spy")):
        sys.exit("py-spy is not installed: run `.venv/bin/pip install -e '.[bench]'` and try again.")
    with stack(args.stack) as st:
        if st is None:
            return
        public, secret, _tok = asyncio.run(_setup(st, ""))
        with server(st) as srv:
            reqs = _requests(public, secret, f"127.0.0.1:{srv.port}", 200_000, senders=5000)
            spy = subprocess.Popen(
                [
                    sys.executable.replace("python", "py-spy"),
                    "record",
                    "-p",
                    str(srv.proc.pid),
                    "-d",
                    str(args.seconds),
                    "-o",
                    args.out,
                    "-r",
                    "50",
                    "--nonblocking",
                    *(["--format", "raw"] if args.out.endswith(".txt") else []),
                ]
            )
            load = asyncio.run(_load(srv.port, reqs, args.seconds))
            spy.wait()
            print(f"{load['rate']:.0f} msg/s during the profile; flame graph in {args.out}")


async def _load(port: int, reqs: list[bytes], seconds: int) -> dict[str, float]:
    task = asyncio.create_task(loadgen.run("127.0.0.1", port, reqs, len(reqs), 64))
    await asyncio.sleep(seconds + 1)
    task.cancel()
    return {"rate": 0.0}


if __name__ == "__main__":
    main()

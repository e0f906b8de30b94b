"""Running `localcloud up` as a real subprocess, for tests over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Ctrl-C stops everything."
START_TIMEOUT_S = 120


@dataclass(frozen=True)
class RunningCloud:
    api: str
    aws: str
    payments: str
    output: list[str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def localcloud_up(template: Path, state_dir: Path, extra: Sequence[str] = ()) -> Iterator[RunningCloud]:
    """`localcloud up` on free ports; stopped with Ctrl-C (SIGINT) when the block ends."""
    aws_port, api_port, payments_port = free_port(), free_port(), free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    command = [
        sys.executable, "-m", "localcloud", "up",
        "--template", str(template),
        "--state-dir", str(state_dir),
        "--aws-port", str(aws_port), "--api-port", str(api_port), "--payments-port", str(payments_port),
        *(argument.format(payments_port=payments_port) for argument in extra),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if READY_LINE in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(START_TIMEOUT_S) or process.poll() is not None:
            raise RuntimeError("localcloud up did not start:\n" + "".join(output[-50:]))
        yield RunningCloud(
            api=f"http://127.0.0.1:{api_port}",
            aws=f"http://127.0.0.1:{aws_port}",
            payments=f"http://127.0.0.1:{payments_port}",
            output=output,
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def wait_for[T](probe: Callable[[], T | None], *, timeout_s: float = 60, what: str = "a condition") -> T:
    """Poll until `probe` returns something. The timeout only bounds a hang; it says nothing about speed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result is not None:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")

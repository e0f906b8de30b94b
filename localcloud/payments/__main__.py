"""Command line: `python -m localcloud.payments --port 12111`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import NoReturn

from localcloud.payments.faults import FaultConfig, FaultConfigError
from localcloud.payments.server import PaymentProvider
from localcloud.payments.store import StateFileError

_PROG = "python -m localcloud.payments"


class _OneLineArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    if not text.isdecimal() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected an integer from 0 to 65535")
    return int(text)


def _api_key(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the API key must not be empty")
    return text


def _parser() -> argparse.ArgumentParser:
    defaults = FaultConfig()
    parser = _OneLineArgumentParser(prog=_PROG, description="Serve a fake Stripe-compatible payment API.")
    parser.add_argument("--port", type=_port, required=True, help="port to listen on (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--api-key", type=_api_key, help="the only secret key accepted (default: any non-empty key)")
    parser.add_argument("--state-file", type=Path, help="JSON file that keeps intents and idempotency keys")
    parser.add_argument("--error-rate", type=float, default=defaults.error_rate, help="probability of a 500")
    parser.add_argument("--rate-limit-rate", type=float, default=defaults.rate_limit_rate, help="probability of a 429")
    parser.add_argument("--hang-rate", type=float, default=defaults.hang_rate, help="probability of a hung response")
    parser.add_argument("--hang-seconds", type=float, default=defaults.hang_seconds, help="how long a hang lasts")
    parser.add_argument("--latency-ms", type=float, default=defaults.latency_ms, help="delay added to every request")
    parser.add_argument("--seed", type=int, help="seed for the fault draws, to replay a run")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        faults = FaultConfig(
            error_rate=args.error_rate,
            rate_limit_rate=args.rate_limit_rate,
            hang_rate=args.hang_rate,
            hang_seconds=args.hang_seconds,
            latency_ms=args.latency_ms,
        )
        provider = PaymentProvider(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            state_file=args.state_file,
            faults=faults,
            seed=args.seed,
        )
        provider.start()
    except (FaultConfigError, StateFileError) as error:
        print(f"{_PROG}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{_PROG}: error: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(f"payments: serving a Stripe-compatible API on {provider.url}", flush=True)
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stop_requested.wait()
    provider.stop()
    print("payments: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

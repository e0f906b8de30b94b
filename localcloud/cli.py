"""The `localcloud` command: run a SAM application locally and look inside it.

Each command imports the parts of localcloud it uses when it runs: moto and boto3 take a second to import,
and `localcloud invoke` against a running stack answers in a fraction of that.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from localcloud import lambda_client
from localcloud.local_access import CORS_ORIGINS_VARIABLE
from localcloud.template import TemplateError

if TYPE_CHECKING:
    from localcloud.spec import FunctionSpec, Invocation, StackSpec
    from localcloud.stack import LocalCloud

# localcloud.emulator's DEFAULT_PORT, without importing moto.
DEFAULT_AWS_PORT = 4566
# The commands that read a running cloud follow the standard AWS_ENDPOINT_URL, as the functions do.
DEFAULT_ENDPOINT = os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{DEFAULT_AWS_PORT}"
DEFAULT_PAYMENTS_URL = os.environ.get("LOCALCLOUD_PAYMENTS_URL") or "http://127.0.0.1:12111"
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
# The errors a command reports as one line, by the module that defines them: a module that is not loaded
# raised none of them.
_REPORTED_ERRORS = (
    ("localcloud.operations", "OperationError"),
    ("localcloud.state", "StateFileError"),
    ("localcloud.http_server", "PortInUseError"),
    ("localcloud.dynamodb_acceleration", "UnsupportedMotoVersionError"),
)


class CliError(Exception):
    """A failure to report as one line and a non-zero exit."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One readable line instead of argparse's usage block."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.command(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if not isinstance(error, _reported_errors()):
            raise
        print(f"localcloud: error: {error}", file=sys.stderr)
        return 1
    return result


def _reported_errors() -> tuple[type[BaseException], ...]:
    loaded = tuple(getattr(sys.modules[module], name) for module, name in _REPORTED_ERRORS if module in sys.modules)
    return (CliError, TemplateError, ConnectionError, lambda_client.LambdaServiceError, *loaded)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="localcloud", description=__doc__)
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND", parser_class=_Parser)

    up = commands.add_parser("up", help="start the emulator, the functions, the API and the event sources")
    _template_options(up)
    up.add_argument("--aws-port", type=_port, default=DEFAULT_AWS_PORT, help="AWS emulator port (default 4566)")
    up.add_argument("--api-port", type=_port, default=3000, help="API Gateway port (default 3000)")
    up.add_argument("--payments-port", type=_port, default=12111, help="fake payment provider port (default 12111)")
    up.add_argument("--no-payments", action="store_true", help="do not start the fake payment provider")
    up.add_argument("--state-dir", type=Path, default=Path(".localcloud"), help="where state is kept (.localcloud)")
    up.add_argument("--reset", action="store_true", help="forget the kept state and start empty")
    up.add_argument("--no-watch", action="store_true", help="do not reload functions when their code changes")
    up.add_argument(
        "--bind-for-containers",
        nargs="?",
        const="",
        type=_host_or_empty,
        metavar="HOST",
        help="let containers (sam local) reach the emulator and the payment provider: on the Docker bridge's "
        "address (Linux), through host.docker.internal (Docker Desktop), or on HOST",
    )
    up.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="a Host name or address the servers answer besides loopback ones (repeatable)",
    )
    up.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help=f"an origin granted cross-origin access to the emulator (repeatable; also {CORS_ORIGINS_VARIABLE})",
    )
    up.set_defaults(command=_up)

    invoke = commands.add_parser("invoke", help="run one function with an event, like `sam local invoke`")
    invoke.add_argument("function", help="the function's logical id in the template")
    invoke.add_argument("--event", "-e", required=True, help="a JSON event file, or - for standard input")
    _template_options(invoke)
    _endpoint_option(invoke)
    invoke.set_defaults(command=_invoke)

    logs = commands.add_parser("logs", help="a function's log lines from CloudWatch Logs")
    logs.add_argument("function", help="the function's logical id or name")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    logs.add_argument("--since", type=_minutes, default=60, metavar="MINUTES", help="how far back (default 60)")
    _endpoint_option(logs)
    logs.set_defaults(command=_logs)

    mail = commands.add_parser("mail", help="the email the functions sent")
    mail.add_argument("--json", action="store_true", help="print JSON")
    _endpoint_option(mail)
    mail.set_defaults(command=_mail)

    queues = commands.add_parser("queues", help="queue depths, in-flight messages and dead letters")
    _endpoint_option(queues)
    queues.set_defaults(command=_queues)

    dlq = commands.add_parser("dlq", help="dead-letter queue operations")
    dlq_commands = dlq.add_subparsers(title="dlq commands", required=True, metavar="COMMAND", parser_class=_Parser)
    redrive = dlq_commands.add_parser("redrive", help="move a dead-letter queue's messages back to its source")
    redrive.add_argument("queue", help="the dead-letter queue's name, logical id or URL")
    _endpoint_option(redrive)
    redrive.set_defaults(command=_redrive)

    metrics = commands.add_parser("metrics", help="CloudWatch metrics the functions emitted (last hour)")
    metrics.add_argument("--namespace", help="only this namespace")
    _endpoint_option(metrics)
    metrics.set_defaults(command=_metrics)

    _add_env_vars_command(commands)

    payments = commands.add_parser("payments", help="the fake payment provider's payment intents and refunds")
    payments.add_argument("--payments-url", default=DEFAULT_PAYMENTS_URL, help=f"default {DEFAULT_PAYMENTS_URL}")
    payments.add_argument("--limit", type=int, default=20, choices=range(1, 101), metavar="1..100")
    payments.set_defaults(command=_payments)
    return parser


def _add_env_vars_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    env_vars = commands.add_parser(
        "env-vars", help="write the --env-vars file with which `sam local` runs the functions against the emulator"
    )
    _template_options(env_vars)
    _endpoint_option(env_vars)
    env_vars.add_argument(
        "--container-host",
        type=_host,
        help="the name or address by which a container reaches this machine (default: the one `localcloud up "
        "--bind-for-containers` listens for)",
    )
    env_vars.add_argument(
        "--output", "-o", default="env.json", help="the file to write, or - for standard output (default env.json)"
    )
    env_vars.set_defaults(command=_env_vars)


def _template_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", "-t", type=Path, default=Path("template.yaml"), help="default template.yaml")
    parser.add_argument("--stack-name", help="default: the template's folder name")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE", type=_override, help="template parameters"
    )


def _endpoint_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url", type=_url, default=DEFAULT_ENDPOINT, help=f"the AWS emulator (default {DEFAULT_ENDPOINT})"
    )
    if not any(action.dest == "region" for action in parser._actions):
        parser.add_argument("--region", default="us-east-1")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def _url(text: str) -> str:
    try:
        parts = urlsplit(text)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text


def _host(text: str) -> str:
    if not text or urlsplit(f"//{text}").hostname != text.lower():
        raise argparse.ArgumentTypeError(f"not a host name or address: {text!r}")
    return text


def _host_or_empty(text: str) -> str:
    return "" if text == "" else _host(text)


def _minutes(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number of minutes: {text!r}")
    return int(text)


def _override(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _up(args: argparse.Namespace) -> int:
    from localcloud.containers import container_access
    from localcloud.stack import LocalCloud, LocalCloudConfig

    logging.basicConfig(level=logging.INFO, format="[localcloud] %(message)s", stream=sys.stderr)
    given = args.bind_for_containers
    config = LocalCloudConfig(
        template=_existing(args.template),
        state_dir=args.state_dir,
        region=args.region,
        stack_name=args.stack_name,
        parameter_overrides=dict(args.parameter_overrides),
        aws_port=args.aws_port,
        api_port=args.api_port,
        payments_port=None if args.no_payments else args.payments_port,
        reset=args.reset,
        watch=not args.no_watch,
        containers=None if given is None else container_access(given or None),
        extra_hosts=tuple(args.allow_host),
        cors_origins=tuple(args.cors_origin),
    )
    cloud = LocalCloud(config)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    cloud.start()
    try:
        _print_banner(cloud)
        stopping.wait()
        print("\nlocalcloud: stopping, saving state...", file=sys.stderr)
    finally:
        cloud.stop()
    return 0


def _print_banner(cloud: LocalCloud) -> None:
    assert cloud.report is not None
    for line in cloud.report.stack.unsupported:
        print(f"localcloud: not emulated: {line}", file=sys.stderr)
    lines = [f"AWS emulator      {cloud.emulator.url}   (AWS_ENDPOINT_URL)"]
    if cloud.gateway is not None:
        lines.append(f"API               {cloud.gateway.url}")
    if cloud.console_url is not None:
        lines.append(f"Console           {cloud.console_url}")
    if cloud.payments is not None:
        lines.append(f"Payment provider  {cloud.payments.url}")
    containers = cloud.config.containers
    if containers is not None:
        listening = (
            f"listening on {containers.bind_address} too"
            if containers.bind_address
            else "Docker Desktop forwards it to 127.0.0.1"
        )
        lines.append(f"Containers        reach it at {containers.host} ({listening}; localcloud env-vars writes it)")
    functions = cloud.report.stack.functions
    lines.append(f"Functions         {len(functions)} ({', '.join(sorted(functions))})")
    lines.append(f"State             {cloud.config.state_dir}/ (localcloud up --reset starts empty)")
    if cloud.gateway is not None:
        public = next(
            (
                event.path
                for function in functions.values()
                for event in function.api_events
                if event.authorizer is None and event.method.upper() in {"GET", "ANY"} and "{" not in event.path
            ),
            None,
        )
        if public is not None:
            lines.append(f"Try               curl -i {cloud.gateway.url}{public}")
    lines.append("Ctrl-C stops everything.")
    print("\n".join(lines), flush=True)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise CliError(f"no template at {path}")
    return path


def _invoke(args: argparse.Namespace) -> int:
    event = _read_event(args.event)
    warm = _invoke_running(args, event)
    if warm is not None:
        return warm
    from localcloud.function_logs import FunctionLogs
    from localcloud.lambda_api import invocation_payload
    from localcloud.provision import provision
    from localcloud.runtime import LambdaRuntime

    stack = provision(
        _existing(args.template),
        endpoint_url=args.endpoint_url,
        region=args.region,
        stack_name=args.stack_name,
        parameter_overrides=dict(args.parameter_overrides),
    )
    if args.function not in stack.functions:
        raise CliError(
            f"no function {args.function!r} in {args.template}; there are: {', '.join(sorted(stack.functions))}"
        )
    logs = FunctionLogs(console=sys.stderr, endpoint_url=args.endpoint_url, region=args.region, name_lines=False)
    runtime = LambdaRuntime(
        stack.functions, endpoint_url=args.endpoint_url, region=stack.region, account_id=stack.account_id, output=logs
    )
    try:
        invocation: Invocation = runtime.invoke(args.function, event)
    finally:
        runtime.close()
        logs.close()
    payload, failed = invocation_payload(invocation)
    return _print_result(payload, failed=failed)


def _invoke_running(args: argparse.Namespace, event: object) -> int | None:
    """The invocation through the Lambda API of the stack running at the endpoint; None if it runs no such function."""
    try:
        names = lambda_client.function_names(args.endpoint_url, args.region)
    except lambda_client.LambdaApiUnavailableError:
        return None
    wanted = f"{args.stack_name}-{args.function}" if args.stack_name else None
    matches = [name for name in names if name == wanted or (wanted is None and name.endswith(f"-{args.function}"))]
    if len(matches) != 1:
        return None
    result = lambda_client.invoke(args.endpoint_url, args.region, matches[0], json.dumps(event).encode())
    sys.stderr.write(result.log_tail)
    return _print_result(result.payload, failed=result.function_error is not None)


def _print_result(payload: bytes, *, failed: bool) -> int:
    # As `sam local invoke` prints it: the function's answer on stdout, its log (with the REPORT line) on stderr.
    sys.stdout.write(payload.decode(errors="replace") + "\n")
    return 1 if failed else 0


def _read_event(source: str) -> object:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as error:
        raise CliError(f"cannot read the event {source}: {error.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"the event {source} is not JSON: {error}") from None


def _logs(args: argparse.Namespace) -> int:
    from localcloud.operations import tail_logs

    name = _function_name(args.endpoint_url, args.region, args.function)
    since = datetime.now(UTC) - timedelta(minutes=args.since)
    for event in tail_logs(args.endpoint_url, name, region=args.region, since=since, follow=args.follow):
        print(f"{event.timestamp:%H:%M:%S} {event.message.rstrip()}", flush=True)
    return 0


def _function_name(endpoint_url: str, region: str, given: str) -> str:
    from localcloud.emulator import emulator_session

    client = emulator_session(region).client("logs", endpoint_url=endpoint_url)
    try:
        groups = [
            group["logGroupName"].removeprefix("/aws/lambda/")
            for page in client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/lambda/")
            for group in page["logGroups"]
        ]
    except Exception as error:  # noqa: BLE001 - any failure to reach the emulator is the same one line
        raise CliError(
            f"cannot reach the AWS emulator at {endpoint_url}; is `localcloud up` running? ({error})"
        ) from None
    return _resolve(given, groups, "function")


def _resolve(given: str, names: Iterable[str], what: str) -> str:
    """An exact name, or the one name that a SAM logical id becomes (`<stack>-<LogicalId>`)."""
    names = list(names)
    if given in names:
        return given
    matches = [name for name in names if name.endswith(f"-{given}")]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CliError(f"no {what} named {given!r}; there are: {', '.join(sorted(names)) or 'none'}")
    raise CliError(f"{given!r} matches several: {', '.join(sorted(matches))}")


def _mail(args: argparse.Namespace) -> int:
    from localcloud.operations import list_mail

    messages = list_mail(args.endpoint_url)
    if args.json:
        print(json.dumps([_mail_json(message) for message in messages], indent=2))
        return 0
    if not messages:
        print("no mail sent yet")
    for message in messages:
        sent = f"{message.timestamp:%Y-%m-%d %H:%M:%S}" if message.timestamp else "?"
        print(f"--- {sent}  from {message.source}  to {', '.join(message.to)}")
        print(f"Subject: {message.subject or ''}")
        print((message.text or message.html or "").strip())
        print()
    return 0


def _mail_json(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "timestamp": message.timestamp.isoformat() if message.timestamp else None,
        "from": message.source,
        "to": list(message.to),
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
    }


def _queues(args: argparse.Namespace) -> int:
    from localcloud.operations import queue_overview

    rows = [("QUEUE", "VISIBLE", "IN FLIGHT", "DELAYED", "ROLE")]
    for queue in queue_overview(args.endpoint_url, region=args.region):
        if queue.is_dead_letter_queue:
            role = f"dead letters of {', '.join(queue.dead_letter_sources)}"
        elif queue.dead_letter_target:
            role = f"-> {queue.dead_letter_target} after {queue.max_receive_count} receives"
        else:
            role = ""
        rows.append((queue.name, str(queue.visible), str(queue.in_flight), str(queue.delayed), role))
    _print_table(rows)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    from localcloud.operations import queue_overview, redrive_dlq

    names = [queue.name for queue in queue_overview(args.endpoint_url, region=args.region)]
    queue = args.queue if args.queue.startswith("http") else _resolve(args.queue, names, "queue")
    moved = redrive_dlq(args.endpoint_url, queue, region=args.region)
    print(f"moved {moved} message(s) from {queue} back to its source queue")
    return 0


def _metrics(args: argparse.Namespace) -> int:
    from localcloud.operations import list_metrics

    rows = [("NAMESPACE", "METRIC", "DIMENSIONS", "SUM", "COUNT", "UNIT")]
    for metric in list_metrics(args.endpoint_url, args.namespace, region=args.region):
        dimensions = ",".join(f"{key}={value}" for key, value in metric.dimensions)
        rows.append(
            (metric.namespace, metric.name, dimensions, f"{metric.sum:g}", f"{metric.count:g}", metric.unit or "")
        )
    _print_table(rows)
    return 0


def _env_vars(args: argparse.Namespace) -> int:
    from localcloud.containers import DOCKER_DESKTOP_HOST
    from localcloud.operations import container_host
    from localcloud.provision import provision

    stack = provision(
        _existing(args.template),
        endpoint_url=args.endpoint_url,
        region=args.region,
        stack_name=args.stack_name,
        parameter_overrides=dict(args.parameter_overrides),
    )
    bound_for = container_host(args.endpoint_url)
    host = args.container_host or bound_for or DOCKER_DESKTOP_HOST
    running = _running_environments(args.endpoint_url, args.region, stack)
    document = _sam_env_vars(stack, running, args.endpoint_url, host)
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(args.output).write_text(text)
        except OSError as error:
            raise CliError(f"cannot write {args.output}: {error.strerror}") from None
        print(f"wrote {args.output}; use it with: sam local invoke|start-api --env-vars {args.output}")
    undeclared = sorted(
        logical_id
        for logical_id, function in stack.functions.items()
        if ENDPOINT_VARIABLE not in function.declared_variables
    )
    if undeclared:
        print(
            f"localcloud: note: {', '.join(undeclared)} do not declare {ENDPOINT_VARIABLE} in the template, and sam "
            "local passes only declared variables: under sam local these functions call the real AWS",
            file=sys.stderr,
        )
    if bound_for is None and args.container_host is None:
        print(
            f"localcloud: note: the emulator at {args.endpoint_url} listens on the loopback only, and a container "
            "cannot reach it; start it with `localcloud up --bind-for-containers`",
            file=sys.stderr,
        )
    return 0


def _running_environments(endpoint_url: str, region: str, stack: StackSpec) -> dict[str, Mapping[str, str]]:
    """Each function's environment as the running stack resolved it (its parameters too), by logical id.

    A function the running stack does not serve keeps the environment resolved here, with no overrides.
    """
    environments: dict[str, Mapping[str, str]] = {}
    for logical_id, function in stack.functions.items():
        try:
            environments[logical_id] = lambda_client.environment(endpoint_url, region, function.function_name)
        except (lambda_client.LambdaApiUnavailableError, lambda_client.LambdaServiceError):
            environments[logical_id] = function.environment
    return environments


# A loopback origin: the emulator's and the payment provider's, which `--bind-for-containers` opens to containers.
_LOOPBACK_ORIGIN = re.compile(r"(?P<scheme>https?)://(?:127\.0\.0\.1|localhost)(?=[:/?#]|$)")


def _sam_env_vars(
    stack: StackSpec, environments: Mapping[str, Mapping[str, str]], endpoint_url: str, container_host: str
) -> dict[str, dict[str, str]]:
    """SAM CLI's --env-vars document: every function's variables, local addresses as a container sees them."""

    def for_container(value: str) -> str:
        return _LOOPBACK_ORIGIN.sub(lambda match: f"{match['scheme']}://{container_host}", value)

    def variables(function: FunctionSpec) -> dict[str, str]:
        environment = environments[function.logical_id]
        return {
            **{name: for_container(value) for name, value in environment.items()},
            ENDPOINT_VARIABLE: for_container(endpoint_url),
        }

    return {logical_id: variables(function) for logical_id, function in stack.functions.items()}


def _payments(args: argparse.Namespace) -> int:
    intents = _provider_list(args.payments_url, "payment_intents", args.limit)
    refunds = _provider_list(args.payments_url, "refunds", args.limit)
    rows = [("ID", "STATUS", "AMOUNT", "CURRENCY", "METADATA")]
    for intent in intents:
        rows.append((intent["id"], intent["status"], str(intent["amount"]), intent["currency"], _metadata(intent)))
    _print_table(rows)
    if refunds:
        print()
        refund_rows = [("REFUND", "PAYMENT INTENT", "STATUS", "AMOUNT", "CURRENCY", "METADATA")]
        for refund in refunds:
            refund_rows.append(
                (
                    refund["id"],
                    refund["payment_intent"],
                    refund["status"],
                    str(refund["amount"]),
                    refund["currency"],
                    _metadata(refund),
                )
            )
        _print_table(refund_rows)
    return 0


def _provider_list(payments_url: str, collection: str, limit: int) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{payments_url}/v1/{collection}?limit={limit}", headers={"Authorization": "Bearer sk_test_localcloud"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            found: list[dict[str, Any]] = json.load(response)["data"]
    except (urllib.error.URLError, OSError) as error:
        raise CliError(f"cannot reach the payment provider at {payments_url} ({error})") from None
    return found


def _metadata(found: dict[str, Any]) -> str:
    return ",".join(f"{key}={value}" for key, value in (found.get("metadata") or {}).items())


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

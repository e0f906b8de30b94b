"""`localcloud up`: every part of the local cloud started in order and stopped in reverse."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from localcloud.console import CONSOLE_PATH, WebConsole
from localcloud.containers import ContainerAccess
from localcloud.emulator import Emulator
from localcloud.function_logs import FunctionLogs
from localcloud.gateway import ApiGateway
from localcloud.lambda_api import LAMBDA_RETRY_DELAYS_S, LambdaApi
from localcloud.local_access import allowed_hosts, cors_origins
from localcloud.payments import PaymentProvider
from localcloud.provision import ProvisionReport, provision_stack
from localcloud.runtime import LambdaRuntime
from localcloud.schedules import Scheduler
from localcloud.sqs_source import SqsEventSource
from localcloud.state import reset_state, restore_state, save_state

logger = logging.getLogger(__name__)

AWS_STATE_FILE = "aws-state.json"
PAYMENTS_STATE_FILE = "payments-state.json"


@dataclass(frozen=True)
class LocalCloudConfig:
    """What `localcloud up` runs and where."""

    template: Path
    state_dir: Path
    region: str = "us-east-1"
    stack_name: str | None = None
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    aws_port: int = 4566
    api_port: int = 3000
    # None: no fake payment provider.
    payments_port: int | None = 12111
    reset: bool = False
    watch: bool = True
    # Keep state across restarts; tests that want a throwaway cloud turn this off.
    persist: bool = True
    # Warm workers per function without a reserved concurrency; calls beyond wait in line. On a
    # small machine a few are as fast as many, without a burst of cold starts.
    function_concurrency: int = 10
    # How often the web console samples queues, function counters and metrics.
    console_sample_interval_s: float = 2.0
    # None: loopback only. Otherwise the emulator and the payment provider also answer containers.
    containers: ContainerAccess | None = None
    # Waits before the retries of a failed `Event` invocation through the Lambda API.
    event_retry_delays_s: tuple[float, ...] = LAMBDA_RETRY_DELAYS_S
    # Host names or addresses that every server answers besides loopback ones.
    extra_hosts: tuple[str, ...] = ()
    # Origins granted cross-origin access to the emulator, besides LOCALCLOUD_CORS_ORIGINS.
    cors_origins: tuple[str, ...] = ()


class LocalCloud:
    """The emulator, the functions, the gateway, the event sources and the payment provider."""

    def __init__(self, config: LocalCloudConfig, *, console: TextIO | None = sys.stdout) -> None:
        self.config = config
        self._console = console
        containers = config.containers
        # Containers name the host by the address or name they reach it at: both are local callers.
        container_hosts = () if containers is None else (containers.host, *filter(None, [containers.bind_address]))
        self.hosts = allowed_hosts((*config.extra_hosts, *container_hosts))
        self.cors = cors_origins(config.cors_origins)
        self.emulator = Emulator(
            config.aws_port,
            also_listen_on=None if containers is None else containers.bind_address,
            container_host=None if containers is None else containers.host,
            hosts=self.hosts,
            cors=self.cors,
        )
        self.payments: PaymentProvider | None = None
        self.report: ProvisionReport | None = None
        self.runtime: LambdaRuntime | None = None
        self.gateway: ApiGateway | None = None
        self.web_console: WebConsole | None = None
        self._logs: FunctionLogs | None = None
        self._sqs: SqsEventSource | None = None
        self.scheduler: Scheduler | None = None
        self._stops: list[Callable[[], None]] = []

    @property
    def aws_state_file(self) -> Path:
        return self.config.state_dir / AWS_STATE_FILE

    @property
    def payments_state_file(self) -> Path:
        return self.config.state_dir / PAYMENTS_STATE_FILE

    @property
    def console_url(self) -> str | None:
        """The web console's page, served on the API's port; None when the stack has no API."""
        return None if self.gateway is None else f"{self.gateway.url}{CONSOLE_PATH}"

    def start(self) -> None:
        """Start every part; on a failure, stop what already started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop(save=False)
            raise

    def _start(self) -> None:
        config = self.config
        if config.reset:
            reset_state(self.aws_state_file)
            reset_state(self.payments_state_file)
        if config.persist:
            config.state_dir.mkdir(parents=True, exist_ok=True)
        self.emulator.start()
        if config.payments_port is not None:
            payments = PaymentProvider(
                port=config.payments_port,
                also_listen_on=None if config.containers is None else config.containers.bind_address,
                state_file=self.payments_state_file if config.persist else None,
                hosts=self.hosts,
                cors=self.cors,
            )
            payments.start()
            self.payments = payments
            self._stops.append(payments.stop)
        report = provision_stack(
            config.template,
            endpoint_url=self.emulator.url,
            region=config.region,
            stack_name=config.stack_name,
            parameter_overrides=config.parameter_overrides,
        )
        self.report = report
        if config.persist and self.aws_state_file.exists():
            restore_state(self.emulator, self.aws_state_file, region=config.region)
        stack = report.stack
        logs = FunctionLogs(console=self._console, endpoint_url=self.emulator.url, region=config.region)
        self._logs = logs
        self._stops.append(logs.close)
        runtime = LambdaRuntime(
            stack.functions,
            endpoint_url=self.emulator.url,
            region=stack.region,
            account_id=stack.account_id,
            output=logs,
            default_concurrency=config.function_concurrency,
            watch=config.watch,
        )
        self.runtime = runtime
        self._stops.append(runtime.close)
        lambda_api = LambdaApi(
            stack,
            runtime,
            logs,
            stack_name=report.stack_name,
            endpoint_url=self.emulator.url,
            retry_delays_s=config.event_retry_delays_s,
        )
        self.emulator.serve_lambda(lambda_api)
        self._stops.append(lambda_api.close)
        self._stops.append(lambda: self.emulator.serve_lambda(None))
        if stack.apis:
            web_console = WebConsole(
                stack=stack,
                runtime=runtime,
                logs=logs,
                emulator_url=self.emulator.url,
                stack_name=report.stack_name,
                payments=self.payments,
                payments_url=None if self.payments is None else self.payments.url,
                sample_interval_s=config.console_sample_interval_s,
            )
            gateway = ApiGateway(
                stack,
                web_console.invoker,
                port=config.api_port,
                observer=web_console.observe,
                reserved_path_handler=web_console.handle,
                hosts=self.hosts,
            )
            gateway.start()
            self.gateway = gateway
            self._stops.append(gateway.stop)
            web_console.start()
            self.web_console = web_console
            self._stops.append(web_console.stop)
        sqs = SqsEventSource(stack, runtime, self.emulator.url, default_concurrency=config.function_concurrency)
        sqs.start()
        self._sqs = sqs
        self._stops.append(sqs.stop)
        scheduler = Scheduler(stack, runtime)
        scheduler.start()
        self.scheduler = scheduler
        self._stops.append(scheduler.stop)

    def stop(self, *, save: bool = True) -> None:
        """Stop in reverse order; the emulator's state is saved once nothing writes to it any more."""
        while self._stops:
            self._stops.pop()()
        if not self.emulator.running:
            return
        if save and self.config.persist:
            save_state(self.emulator, self.aws_state_file, region=self.config.region)
        self.emulator.stop()

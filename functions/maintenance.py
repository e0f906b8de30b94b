"""Scheduled every 5 minutes: re-dispatches orders stuck in pending_payment, reports dead-letter depths."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shop.entrypoints.settings import load_pipeline_settings
from shop.entrypoints.worker_composition import maintenance_service
from shop.observability import logger, metrics, tracer

maintenance = maintenance_service(load_pipeline_settings())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The scheduled event's id names the run; it is the correlation id of what the run sends.
    report = maintenance.run(run_id=str(event.get("id") or context.aws_request_id))
    return asdict(report)

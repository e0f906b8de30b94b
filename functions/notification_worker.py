"""Notifications queue consumer: each email once, then the batch's order status events on SNS together."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures
from aws_lambda_powertools.utilities.typing import LambdaContext

from shop.entrypoints.settings import load_pipeline_settings
from shop.entrypoints.worker_composition import NotificationWorker
from shop.observability import logger, metrics, tracer

notifications = NotificationWorker(load_pipeline_settings())
# A batch whose every record failed is still a partial response, not a function error: the
# failures are expected retries, and the worker errors alarm is kept for real crashes.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    batch = notifications.start_batch()
    response = process_partial_response(event=event, record_handler=batch.deliver, processor=processor, context=context)
    # A message whose order event did not go out fails too, so SQS delivers it again.
    unpublished: list[PartialItemFailures] = [{"itemIdentifier": m} for m in batch.publish_status_events()]
    return {"batchItemFailures": [*response["batchItemFailures"], *unpublished]}

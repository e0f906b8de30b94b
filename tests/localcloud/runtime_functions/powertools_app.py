"""A handler written with AWS Lambda Powertools, which reads the context and prints JSON logs and EMF."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="orders")
metrics = Metrics(namespace="LocalcloudTests", service="orders")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, str], context: LambdaContext) -> str:
    logger.info("order received", extra={"order_id": event["order_id"]})
    metrics.add_metric(name="OrdersReceived", unit=MetricUnit.Count, value=1)
    return "accepted"

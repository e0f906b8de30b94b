"""The API's Lambda authorizer (TOKEN): verifies the bearer JWT, returns the caller as context."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shop.entrypoints.composition import token_service
from shop.entrypoints.settings import load_settings
from shop.errors import DomainError
from shop.observability import logger, metrics
from shop.service_layer.token_authorizer import UNAUTHORIZED, policy_for

tokens = token_service(load_settings())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return policy_for(event.get("authorizationToken"), event["methodArn"], tokens)
    except DomainError as error:
        logger.info("token refused", extra={"reason": error.detail})
        metrics.add_metric(name="TokenRefused", unit="Count", value=1)
        raise Exception(UNAUTHORIZED) from None  # noqa: TRY002 - API Gateway matches this exact message

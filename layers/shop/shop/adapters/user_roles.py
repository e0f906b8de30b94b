"""Users' roles in DynamoDB: on the profile (`USER#<id>/PROFILE`) and on the credential login reads them from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shop.adapters.conditional_writes import failed_conditions
from shop.adapters.dynamo import from_item, to_item, unavailable, user_pk
from shop.domain.models import Credential, User
from shop.errors import Conflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoUserRoles:
    """Replaces a user's roles on both items in one transaction."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def set_roles(
        self, user_id: str, roles: tuple[str, ...], *, expected: tuple[str, ...] | None = None
    ) -> User | None:
        profile = self._get({"pk": user_pk(user_id), "sk": "PROFILE"})
        if profile is None:
            return None
        user = User.model_validate(profile)
        credential_condition = "user_id = :user"
        credential_values: dict[str, Any] = {":roles": list(roles), ":user": user_id}
        if expected is not None:
            credential_condition += " AND #roles = :expected"
            credential_values[":expected"] = list(expected)
        try:
            # Both copies change together: login issues tokens from the credential's, GET /me shows
            # the profile's. The credential must still be this user's (an email is never reused).
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": to_item({"pk": user_pk(user_id), "sk": "PROFILE"}),
                            "UpdateExpression": "SET #roles = :roles",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeNames": {"#roles": "roles"},
                            "ExpressionAttributeValues": to_item({":roles": list(roles)}),
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": to_item({"pk": f"EMAIL#{user.email}", "sk": "CREDENTIAL"}),
                            "UpdateExpression": "SET #roles = :roles",
                            "ConditionExpression": credential_condition,
                            "ExpressionAttributeNames": {"#roles": "roles"},
                            "ExpressionAttributeValues": to_item(credential_values),
                        }
                    },
                ]
            )
        except ClientError as exc:
            if failed_conditions(exc):
                raise Conflict("the account's roles changed meanwhile; read them and try again") from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return user.model_copy(update={"roles": roles})

    def credential_for(self, email: str) -> Credential | None:
        item = self._get({"pk": f"EMAIL#{email}", "sk": "CREDENTIAL"})
        return None if item is None else Credential.model_validate(item)

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        item = response.get("Item")
        return None if item is None else from_item(item)

"""The first admin: give an existing account the admin role, straight in the stack's table.

    PYTHONPATH=layers/shop .venv/bin/python -m shop.entrypoints.first_admin --table-name TABLE --email EMAIL

(or `make first-admin TABLE=... EMAIL=...`). The account registers as every account does, with
its own password: there is no default admin and no default password. The command needs AWS
credentials that may write the table, so the authority to make the first admin is IAM's; after
that, admins grant roles through PUT /admin/users/{user_id}/roles. Against the local cloud, set
AWS_ENDPOINT_URL (boto3 follows it) and any credentials.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shop.domain.models import Role
from shop.entrypoints.composition import role_service
from shop.errors import DomainError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="first_admin", description="Give an existing account the admin role.")
    parser.add_argument("--table-name", required=True, help="the stack's table (its TableName output)")
    parser.add_argument("--email", required=True, help="the account's email, as it registered")
    args = parser.parse_args(argv)
    try:
        user = role_service(args.table_name).grant_by_email(args.email.lower(), Role.ADMIN)
    except DomainError as error:
        print(f"first_admin: {error.detail}", file=sys.stderr)
        return 1
    print(f"{user.email} ({user.id}) now has the roles {', '.join(user.roles)}; they apply from its next login")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

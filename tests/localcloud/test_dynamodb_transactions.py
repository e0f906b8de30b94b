"""The answers of successful DynamoDB transactions by ClientRequestToken, kept for DynamoDB's 10 minutes."""

from __future__ import annotations

import json

from localcloud.dynamodb_transactions import TOKEN_LIFETIME_S, StoredAnswer, TransactionTokens, request_token

OK = StoredAnswer("200 OK", [("Content-Type", "application/x-amz-json-1.0")], b"{}")


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_replayed_for_ten_minutes_then_forgotten() -> None:
    # Given a successful call remembered under its token
    clock = ManualClock()
    tokens = TransactionTokens(clock)
    tokens.remember("token-1", {"TransactItems": []}, OK)

    # When the same call comes back just before and just after the token's lifetime
    clock.now += TOKEN_LIFETIME_S - 1
    within = tokens.answer_for("token-1", {"TransactItems": []})
    clock.now += 2
    after = tokens.answer_for("token-1", {"TransactItems": []})

    # Then it is answered from memory, then run again
    assert within == OK
    assert after is None


def test_other_parameters_under_a_known_token_are_a_parameter_mismatch() -> None:
    tokens = TransactionTokens()
    tokens.remember("token-1", {"TransactItems": [1]}, OK)

    answer = tokens.answer_for("token-1", {"TransactItems": [2]})

    assert answer is not None
    assert answer.status.startswith("400")
    assert json.loads(answer.body)["__type"].endswith("#IdempotentParameterMismatchException")


def test_failed_calls_are_not_remembered_and_cleared_tokens_are_forgotten() -> None:
    tokens = TransactionTokens()
    tokens.remember("failed", {}, StoredAnswer("400 Bad Request", [], b"{}"))
    tokens.remember("cleared", {}, OK)

    tokens.clear()

    assert tokens.answer_for("failed", {}) is None
    assert tokens.answer_for("cleared", {}) is None


def test_the_token_is_read_from_the_body_and_left_out_of_the_parameters() -> None:
    assert request_token(b'{"TransactItems": [], "ClientRequestToken": "t"}') == ("t", {"TransactItems": []})
    assert request_token(b'{"TransactItems": []}') is None
    assert request_token(b"not json") is None

"""The web console: its request log, its sampler, and its JSON endpoints on a running local cloud."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from localcloud.console.request_log import InvocationLinks, RequestLog, capped_text
from localcloud.console.sampler import StackSampler
from localcloud.console.series import Buckets, percentile
from localcloud.emulator import emulator_session
from localcloud.gateway import GatewayExchange
from localcloud.http_server import HttpResponse
from localcloud.operations import EmulatorUnreachableError, MetricSummary, QueueStatus
from localcloud.runtime import FunctionStats
from localcloud.spec import FunctionError, Invocation
from localcloud.stack import LocalCloud, LocalCloudConfig
from secret_redaction import REDACTED
from tests.localcloud.fixture_app_client import FIXTURE_TEMPLATE, call_api, wait_for

REGION = "us-east-1"
CONSOLE_HEADERS = {"Content-Type": "application/json", "X-Localcloud-Console": "1"}


# ---- the request log and invocation links, with fakes ----


def exchange(
    *,
    request_id: str | None = None,
    path: str = "/things",
    status: int = 200,
    request_body: str | None = None,
    response_body: bytes = b'{"ok":true}',
) -> GatewayExchange:
    request_id = request_id or str(uuid.uuid4())
    event = {"path": path, "body": request_body, "requestContext": {"requestId": request_id}}
    return GatewayExchange(
        method="POST",
        path=path,
        response=HttpResponse(status, (("Content-Type", "application/json"),), response_body),
        duration_ms=3.5,
        request_id=request_id,
        function_logical_id="ThingsFunction",
        event=event,
        function_payload={"statusCode": status, "body": response_body.decode(errors="replace")},
    )


def test_request_log_keeps_only_the_latest_requests_newest_first() -> None:
    # Given a log with room for three requests
    log = RequestLog(3)

    # When five are recorded
    for number in range(5):
        log.record(exchange(path=f"/things/{number}"))

    # Then the last three remain, newest first, numbered in order
    assert [request.path for request in log.latest()] == ["/things/4", "/things/3", "/things/2"]
    assert log.latest_sequence == 5
    assert [request.path for request in log.latest(after=4)] == ["/things/4"]


def test_request_log_caps_request_and_response_bodies_and_says_how_large_they_were() -> None:
    # Given a log that keeps 10 bytes of each body
    log = RequestLog(body_cap_bytes=10)

    # When a request with large bodies is recorded
    recorded = log.record(exchange(request_body="x" * 100, response_body=b"y" * 50))

    # Then both bodies are cut to the cap, with their full sizes kept
    assert recorded.details.event is not None
    assert recorded.details.event["body"] == "x" * 10
    assert recorded.details.event_body is not None
    assert (recorded.details.event_body.size_bytes, recorded.details.event_body.truncated) == (100, True)
    assert (recorded.details.response_body.text, recorded.details.response_body.size_bytes) == ("y" * 10, 50)
    assert recorded.details.response_body.truncated
    assert isinstance(recorded.details.function_payload, Mapping)
    assert recorded.details.function_payload["body"] == "y" * 10


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"


def test_request_log_shows_requests_responses_and_events_redacted_by_the_rule_of_the_functions_logs() -> None:
    # Given a login with a JSON body, an Authorization header and a cookie, answered with a token and a cookie
    event = {
        "path": "/login",
        "headers": {"Authorization": f"Bearer {JWT}", "Cookie": "session=s3cr3t", "Content-Type": "application/json"},
        "multiValueHeaders": {"Authorization": [f"Bearer {JWT}"]},
        "body": '{"email": "ada@example.com", "password": "correct horse battery"}',
        "requestContext": {"requestId": "r-1"},
    }
    answer = json.dumps({"access_token": JWT, "token_type": "Bearer"})
    login = GatewayExchange(
        method="POST",
        path="/login",
        response=HttpResponse(
            200, (("Content-Type", "application/json"), ("Set-Cookie", "session=s3cr3t")), answer.encode()
        ),
        duration_ms=1.0,
        request_id="r-1",
        function_logical_id="LoginFunction",
        event=event,
        function_payload={"statusCode": 200, "headers": {"Set-Cookie": "session=s3cr3t"}, "body": answer},
    )
    form = GatewayExchange(
        method="POST",
        path="/form",
        response=HttpResponse(200, (), b"{}"),
        duration_ms=1.0,
        request_id="r-2",
        event={
            "headers": {"content-type": "application/x-www-form-urlencoded"},
            "body": "user=ada&api_key=k-123&next=%2Fhome",
        },
    )

    # When both are recorded
    log = RequestLog()
    recorded = [log.record(login), log.record(form)]

    # Then no secret is shown anywhere, and the rest is
    shown = repr([request.details for request in recorded])
    for secret in ("correct horse battery", JWT, "s3cr3t", "k-123"):
        assert secret not in shown, secret
    assert "ada@example.com" in shown
    assert recorded[1].details.event is not None
    assert recorded[1].details.event["body"] == "user=ada&api_key=%5BREDACTED%5D&next=%2Fhome"


def test_request_log_finds_a_request_by_its_request_id() -> None:
    # Given a log with two requests
    log = RequestLog()
    wanted = log.record(exchange(path="/wanted"))
    log.record(exchange(path="/other"))

    # When the first is looked up by its id, and an unknown id too
    found = log.find(wanted.request_id)
    missing = log.find("no-such-id")

    # Then the first is found and the unknown one is not
    assert found == wanted
    assert missing is None


def test_body_that_is_not_utf8_is_kept_as_binary() -> None:
    # Given a PNG-like body
    body = b"\x89PNG\r\n\x1a\n\xff\xfe"

    # When it is kept
    capped = capped_text(body, 1024)

    # Then it is binary, with its size
    assert capped.binary
    assert capped.size_bytes == len(body)


def test_cap_that_falls_inside_a_character_keeps_the_text_before_it() -> None:
    # Given "é" (two bytes in UTF-8) cut after its first byte
    body = "aé".encode()

    # When the body is kept with a cap of two bytes
    capped = capped_text(body, 2)

    # Then the text is what fits, not binary
    assert (capped.text, capped.truncated) == ("a", True)


@dataclass
class FakeInvoker:
    """Answers every invocation at once, with a fresh Lambda request id."""

    cold: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)

    def invoke(self, function_logical_id: str, event: object) -> Invocation:
        error = FunctionError("Boom", "it broke") if function_logical_id in self.failing else None
        init = 120.0 if function_logical_id in self.cold else None
        return Invocation(str(uuid.uuid4()), function_logical_id, {"statusCode": 200}, error, 2.0, init)


def test_integration_invocation_is_linked_to_the_api_request_of_its_event() -> None:
    # Given links around an invoker whose function is cold and fails
    links = InvocationLinks(FakeInvoker(cold={"Api"}, failing={"Api"}))

    # When the gateway invokes it with a proxy event
    invocation = links.invoke("Api", {"requestContext": {"requestId": "api-1"}})

    # Then the API request lists that invocation, cold and failed
    [linked] = links.of("api-1")
    assert (linked.function_logical_id, linked.request_id) == ("Api", invocation.request_id)
    assert linked.cold_start
    assert linked.error == "Boom: it broke"


def test_token_authorizer_invocation_is_claimed_by_the_request_answered_on_its_thread() -> None:
    # Given links, and a TOKEN authorizer event (which names no API request)
    links = InvocationLinks(FakeInvoker())
    authorizer_event = {"type": "TOKEN", "authorizationToken": "t", "methodArn": "arn"}

    # When one thread invokes the authorizer, then the integration, then reports its request;
    # and another thread invokes an authorizer it never reports
    links.invoke("Authorizer", authorizer_event)
    links.invoke("Api", {"requestContext": {"requestId": "api-1"}})
    other = threading.Thread(target=links.invoke, args=("Authorizer", authorizer_event))
    other.start()
    other.join()
    links.claim("api-1")

    # Then the request has the authorizer first, then the integration; nothing of the other thread
    assert [link.function_logical_id for link in links.of("api-1")] == ["Authorizer", "Api"]


def test_invocation_links_forget_the_oldest_requests_beyond_their_capacity() -> None:
    # Given links that remember two requests
    links = InvocationLinks(FakeInvoker(), capacity=2)

    # When three requests are served
    for number in range(3):
        links.invoke("Api", {"requestContext": {"requestId": f"api-{number}"}})

    # Then the first is forgotten
    assert links.of("api-0") == []
    assert len(links.of("api-2")) == 1


# ---- the sampler and the series, with fakes ----


@dataclass
class FakeStack:
    """Sources a sampler reads, changed by the test between samples."""

    stats: dict[str, FunctionStats] = field(default_factory=dict)
    queues: list[QueueStatus] = field(default_factory=list)
    metric_sums: dict[str, float] = field(default_factory=dict)
    unreachable: bool = False
    now: float = 1_000_000.0

    def read_queues(self) -> list[QueueStatus]:
        if self.unreachable:
            raise EmulatorUnreachableError("no emulator answers")
        return self.queues

    def read_metrics(self, window: timedelta) -> list[MetricSummary]:
        if self.unreachable:
            raise EmulatorUnreachableError("no emulator answers")
        return [
            MetricSummary("App", name, (), total, 1.0, None, None, "Count") for name, total in self.metric_sums.items()
        ]

    def sampler(self, *, interval_s: float = 1.0, history_s: float = 600.0) -> StackSampler:
        return StackSampler(
            function_stats=lambda: self.stats,
            queues=self.read_queues,
            metrics=self.read_metrics,
            interval_s=interval_s,
            history_s=history_s,
            clock=lambda: self.now,
        )


def queue_status(name: str, visible: int) -> QueueStatus:
    return QueueStatus(name, f"http://q/{name}", f"arn:{name}", visible, 0, 0, False, (), None, None)


def test_sampler_reports_what_each_function_did_between_two_samples() -> None:
    # Given a function that ran twice before the sampler started
    fake = FakeStack(stats={"Api": FunctionStats(2, 0, 1, (5.0, 6.0))})
    sampler = fake.sampler()
    sampler.start()
    sampler.stop()

    # When it runs three more times, one failing, and a sample is taken
    fake.stats = {"Api": FunctionStats(5, 1, 1, (5.0, 6.0, 7.0, 8.0, 9.0))}
    sample = sampler.sample()

    # Then the sample has those three invocations and their durations only
    activity = sample.functions["Api"]
    assert (activity.invocations, activity.errors, activity.cold_starts) == (3, 1, 0)
    assert activity.durations_ms == (7.0, 8.0, 9.0)


def test_sampler_reports_the_metric_sums_added_since_the_previous_sample() -> None:
    # Given a metric at 4 when the sampler starts
    fake = FakeStack(metric_sums={"Orders": 4.0})
    sampler = fake.sampler()
    sampler.start()
    sampler.stop()

    # When it grows to 7, then stays
    fake.metric_sums = {"Orders": 7.0}
    grown = sampler.sample()
    steady = sampler.sample()

    # Then the first sample has 3 added and the next none
    assert grown.metric_sums == {("App", "Orders", ()): 3.0}
    assert steady.metric_sums == {("App", "Orders", ()): 0.0}


def test_sampler_history_is_bounded_and_keeps_the_newest() -> None:
    # Given a sampler keeping 3 s of history at one sample a second
    fake = FakeStack()
    sampler = fake.sampler(interval_s=1.0, history_s=3.0)

    # When five samples are taken a second apart
    for second in range(5):
        fake.now = 1000.0 + second
        fake.queues = [queue_status("jobs", second)]
        sampler.sample()

    # Then the last three remain
    history = sampler.history()
    assert [sample.at for sample in history] == [1002.0, 1003.0, 1004.0]
    latest = sampler.latest_queues()
    assert latest is not None
    assert latest[0].visible == 4


def test_sampler_goes_on_when_the_emulator_does_not_answer() -> None:
    # Given a sampler with a queue sampled once
    fake = FakeStack(queues=[queue_status("jobs", 1)])
    sampler = fake.sampler()
    sampler.sample()

    # When the emulator stops answering, then answers again
    fake.unreachable = True
    missed = sampler.sample()
    fake.unreachable = False
    fake.queues = [queue_status("jobs", 2)]
    back = sampler.sample()

    # Then the missed sample has no queues, the latest known stay, and sampling resumes
    assert missed.queues is None
    assert back.queues is not None
    assert back.queues[0].visible == 2


def test_percentile_is_the_nearest_rank() -> None:
    # Given twenty durations 1..20
    durations = [float(value) for value in range(20, 0, -1)]

    # When their median and 95th percentile are taken
    median = percentile(durations, 0.5)
    p95 = percentile(durations, 0.95)

    # Then they are the 10th and the 19th values
    assert (median, p95) == (10.0, 19.0)
    assert percentile([], 0.5) is None


def test_buckets_end_at_the_bucket_that_holds_now() -> None:
    # Given ten-second buckets over a minute, at 125 s and at 130 s exactly
    buckets = Buckets.ending_at(125.0, 60.0, 10.0)
    on_a_boundary = Buckets.ending_at(130.0, 60.0, 10.0)

    # When moments are placed in them
    placed = [buckets.index_of(moment) for moment in (69.9, 70.0, 125.0, 130.0)]

    # Then the six buckets run from 70 s to 130 s, and `now` is always in the last one
    assert buckets.starts() == [70.0, 80.0, 90.0, 100.0, 110.0, 120.0]
    assert placed == [None, 0, 5, None]
    assert on_a_boundary.index_of(130.0) == 5


# ---- the endpoints, on a local cloud running the fixture app ----


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    config = LocalCloudConfig(
        template=FIXTURE_TEMPLATE,
        state_dir=tmp_path_factory.mktemp("state"),
        stack_name=f"console-{uuid.uuid4().hex[:8]}",
        aws_port=0,
        api_port=0,
        payments_port=0,
        watch=False,
        persist=False,
        console_sample_interval_s=0.5,
    )
    running = LocalCloud(config, console=None)
    running.start()
    yield running
    running.stop(save=False)


@pytest.fixture
def api_url(cloud: LocalCloud) -> str:
    assert cloud.gateway is not None
    return cloud.gateway.url


@dataclass(frozen=True)
class ConsoleAnswer:
    status: int
    headers: Mapping[str, str]
    body: Any


type ConsoleCall = Callable[..., ConsoleAnswer]


@pytest.fixture
def console(cloud: LocalCloud) -> ConsoleCall:
    """Calls the console: console("GET", "api/requests"), with optional body, headers and Host."""
    assert cloud.console_url is not None
    base = cloud.console_url

    def call(
        method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> ConsoleAnswer:
        request = urllib.request.Request(f"{base}{path}", data=body, method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return ConsoleAnswer(
                    response.status, dict(response.headers), _decoded(response.read(), response.headers)
                )
        except urllib.error.HTTPError as error:
            with error:
                return ConsoleAnswer(error.code, dict(error.headers), _decoded(error.read(), error.headers))

    return call


def _decoded(body: bytes, headers: Any) -> Any:
    return json.loads(body) if headers.get("Content-Type", "").startswith("application/json") else body.decode()


def user() -> str:
    return f"allow-user-{uuid.uuid4().hex[:8]}"


def queue_name(cloud: LocalCloud, logical_id: str) -> str:
    assert cloud.report is not None
    return f"{cloud.report.stack_name}-{logical_id}"


def recorded_requests(console: ConsoleCall, marker: str, count: int) -> list[dict[str, Any]]:
    """The recorded requests whose path has the marker, newest first, once there are `count` of them."""

    def listed() -> list[dict[str, Any]] | None:
        requests = [request for request in console("GET", "api/requests").body["requests"] if marker in request["path"]]
        return requests if len(requests) >= count else None

    return wait_for(listed, f"{count} requests with {marker} recorded")


def request_detail(console: ConsoleCall, summary: Mapping[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = console("GET", f"api/requests/{summary['request_id']}").body
    return detail


def test_console_page_is_served_with_a_policy_that_allows_only_its_own_scripts(console: ConsoleCall) -> None:
    # When the page and its script are fetched
    page = console("GET", "")
    script = console("GET", "static/console.js")

    # Then both come with the page's policy: scripts of the console's own origin only
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'src="static/console.js"' in page.body
    assert script.status == 200
    assert script.headers["Content-Type"].startswith("text/javascript")


def test_console_path_without_its_slash_redirects_to_the_page(api_url: str) -> None:
    # When /_localcloud is asked for without following redirects
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(f"{api_url}/_localcloud", timeout=10)

    # Then it is sent to /_localcloud/
    assert answer.value.code == 308
    assert answer.value.headers["Location"] == "/_localcloud/"
    answer.value.close()


def test_unknown_console_paths_answer_404_and_wrong_methods_405(console: ConsoleCall) -> None:
    # When an unknown endpoint, an unknown asset and a POST to a read-only endpoint are asked for
    unknown = console("GET", "api/nothing-here")
    asset = console("GET", "static/../../template.yaml")
    wrong_method = console("POST", "api/requests", b"{}", CONSOLE_HEADERS)

    # Then they are refused as such
    assert unknown.status == 404
    assert asset.status == 404
    assert wrong_method.status == 405
    assert wrong_method.headers["Allow"] == "GET"


def test_console_refuses_requests_addressed_to_another_host_name(console: ConsoleCall) -> None:
    # When a page of another site, resolved to 127.0.0.1, asks for the requests
    answer = console("GET", "api/requests", headers={"Host": "attacker.example"})

    # Then the console refuses
    assert answer.status == 403


def test_api_requests_are_listed_newest_first_with_status_duration_and_function(
    api_url: str, console: ConsoleCall
) -> None:
    # Given two API requests, the second to an unknown route
    marker = uuid.uuid4().hex[:8]
    call_api(api_url, "GET", f"/files/{marker}")
    call_api(api_url, "GET", f"/no-such-route/{marker}")

    # When the console lists the requests (each is recorded once its answer is sent)
    listed = recorded_requests(console, marker, count=2)

    # Then both are there, newest first, and none of the console's own requests
    newest, previous = listed
    assert (newest["method"], newest["path"], newest["status"], newest["function"]) == (
        "GET",
        f"/no-such-route/{marker}",
        403,
        None,
    )
    assert (previous["path"], previous["status"], previous["function"]) == (f"/files/{marker}", 200, "ApiFunction")
    assert previous["duration_ms"] > 0
    everything = console("GET", "api/requests").body["requests"]
    assert not any(request["path"].startswith("/_localcloud") for request in everything)


def test_request_detail_has_its_event_response_and_the_log_lines_of_each_invocation(
    api_url: str, console: ConsoleCall
) -> None:
    # Given a request that passes the TOKEN authorizer
    marker = uuid.uuid4().hex[:8]
    token = f"allow-{marker}"
    call_api(api_url, "GET", f"/whoami?marker={marker}", token=token)
    [summary] = wait_for(
        lambda: (
            [
                request
                for request in console("GET", "api/requests").body["requests"]
                if request["path"] == "/whoami"
                and request_detail(console, request)["event"]["queryStringParameters"] == {"marker": marker}
            ]
            or None
        ),
        "the request recorded",
    )

    # When its detail is asked for
    detail = console("GET", f"api/requests/{summary['request_id']}").body

    # Then it has the proxy event (its token redacted), the response, and the authorizer's and the function's
    # invocations with their logs
    assert detail["event"]["headers"]["Authorization"] == REDACTED
    assert detail["event"]["requestContext"]["requestId"] == summary["request_id"]
    assert json.loads(detail["response"]["body"]["text"]) == {"user": token.removeprefix("allow-")}
    authorizer, function = detail["invocations"]
    assert (authorizer["function"], function["function"]) == ("AuthorizerFunction", "ApiFunction")
    for invocation in (authorizer, function):
        messages = [line["message"] for line in invocation["log"]]
        assert messages[0].startswith(f"START RequestId: {invocation['request_id']}")
        assert messages[-1].startswith(f"REPORT RequestId: {invocation['request_id']}")


def test_request_no_longer_in_the_log_is_not_found(console: ConsoleCall) -> None:
    # When a request id the console never saw is asked for
    answer = console("GET", f"api/requests/{uuid.uuid4()}")

    # Then it is not found, with a reason
    assert answer.status == 404
    assert "latest" in answer.body["error"]


def test_functions_count_invocations_and_time_them(api_url: str, console: ConsoleCall) -> None:
    # Given the report function invoked three times
    for _ in range(3):
        call_api(api_url, "GET", "/report?marker=functions")

    # When the console's function figures include them (the sampler runs in the background)
    def report_figures() -> dict[str, Any] | None:
        functions = console("GET", "api/functions").body["functions"]
        report = next(function for function in functions if function["logical_id"] == "ReportFunction")
        return report if report["recent"]["invocations"] >= 3 else None

    report = wait_for(report_figures, "the report function's invocations sampled")

    # Then the totals, percentiles and the chart buckets agree
    assert report["invocations"] >= 3
    assert report["triggers"] == ["GET /report"]
    assert report["recent"]["p50_ms"] <= report["recent"]["p95_ms"]
    assert sum(bucket["invocations"] for bucket in report["series"]) >= 3


def test_dead_letter_can_be_inspected_then_redriven_and_is_processed(cloud: LocalCloud, console: ConsoleCall) -> None:
    # Given a job that waits in the dead-letter queue
    sqs = emulator_session(REGION).client("sqs", endpoint_url=cloud.emulator.url)
    dlq_name = queue_name(cloud, "JobsDeadLetterQueue")
    body = f"job-{uuid.uuid4().hex[:8]}"
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"], MessageBody=body)

    # When the console inspects that queue, then redrives it
    inspected = console("GET", f"api/queues/{dlq_name}/messages").body
    redriven = console("POST", f"api/queues/{dlq_name}/redrive", b"{}", CONSOLE_HEADERS)

    # Then the message was shown, moved back to its source queue, and processed by the worker
    assert body in [message["body"] for message in inspected["messages"]]
    assert inspected["destinations"] == [queue_name(cloud, "JobsQueue")]
    assert redriven.status == 200
    assert redriven.body["moved"] >= 1
    assert redriven.body["destination"] == queue_name(cloud, "JobsQueue")
    dynamodb = emulator_session(REGION).client("dynamodb", endpoint_url=cloud.emulator.url)
    assert cloud.report is not None
    table = cloud.report.stack.functions["JobsFunction"].environment["TABLE_NAME"]
    wait_for(
        lambda: dynamodb.get_item(TableName=table, Key={"pk": {"S": f"job#{body}"}}).get("Item"),
        "the redriven job processed",
    )


def test_queues_show_depth_over_time_and_their_dead_letter_relations(cloud: LocalCloud, console: ConsoleCall) -> None:
    # Given a message parked in a queue nothing consumes
    sqs = emulator_session(REGION).client("sqs", endpoint_url=cloud.emulator.url)
    parked = queue_name(cloud, "ParkedQueue")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=parked)["QueueUrl"], MessageBody="waiting")

    # When the sampler has seen it
    def parked_queue() -> dict[str, Any] | None:
        queues = {queue["name"]: queue for queue in console("GET", "api/queues").body["queues"]}
        return queues[parked] if queues.get(parked, {}).get("visible", 0) >= 1 else None

    status = wait_for(parked_queue, "the parked message sampled")
    queues = {queue["name"]: queue for queue in console("GET", "api/queues").body["queues"]}

    # Then its depth is charted, and the jobs queue and its DLQ are related both ways
    assert status["series"][-1][1] >= 1
    jobs, dead_letters = queues[queue_name(cloud, "JobsQueue")], queues[queue_name(cloud, "JobsDeadLetterQueue")]
    assert (jobs["dead_letter_target"], jobs["max_receive_count"]) == (dead_letters["name"], 2)
    assert dead_letters["is_dead_letter_queue"]
    assert dead_letters["dead_letter_sources"] == [jobs["name"]]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/json"}, 403),
        ({"Content-Type": "application/x-www-form-urlencoded", "X-Localcloud-Console": "1"}, 415),
    ],
    ids=["without-the-console-header", "as-a-form"],
)
def test_redrive_needs_the_console_header_and_a_json_body(
    cloud: LocalCloud, console: ConsoleCall, headers: Mapping[str, str], status: int
) -> None:
    # When a redrive comes without the console's header, or as a form (what a cross-site form sends)
    answer = console("POST", f"api/queues/{queue_name(cloud, 'JobsDeadLetterQueue')}/redrive", b"{}", headers)

    # Then it is refused
    assert answer.status == status


def test_queue_that_is_no_dead_letter_queue_cannot_be_redriven_or_inspected(
    cloud: LocalCloud, console: ConsoleCall
) -> None:
    # When the jobs queue itself is inspected and redriven
    inspected = console("GET", f"api/queues/{queue_name(cloud, 'JobsQueue')}/messages")
    redriven = console("POST", f"api/queues/{queue_name(cloud, 'JobsQueue')}/redrive", b"{}", CONSOLE_HEADERS)

    # Then both are refused: it is nobody's dead-letter queue
    assert (inspected.status, redriven.status) == (409, 409)
    assert "not the dead-letter queue" in redriven.body["error"]


def test_dead_letter_queue_of_several_queues_is_redriven_to_the_one_chosen(
    cloud: LocalCloud, console: ConsoleCall
) -> None:
    # Given a dead-letter queue that two queues share, with one message waiting
    sqs = emulator_session(REGION).client("sqs", endpoint_url=cloud.emulator.url)
    prefix = f"shared-{uuid.uuid4().hex[:8]}"
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    for source in ("first", "second"):
        sqs.create_queue(QueueName=f"{prefix}-{source}", Attributes={"RedrivePolicy": policy})
    sqs.send_message(QueueUrl=dlq_url, MessageBody="parked")

    # When it is redriven without a destination, then to the second queue
    unchosen = console("POST", f"api/queues/{prefix}-dlq/redrive", b"{}", CONSOLE_HEADERS)
    chosen = console(
        "POST",
        f"api/queues/{prefix}-dlq/redrive",
        json.dumps({"destination": f"{prefix}-second"}).encode(),
        CONSOLE_HEADERS,
    )

    # Then the first is refused with the choice to make, and the second moves the message there
    assert unchosen.status == 409
    assert "choose one" in unchosen.body["error"]
    assert (chosen.status, chosen.body["moved"], chosen.body["destination"]) == (200, 1, f"{prefix}-second")
    second_url = sqs.get_queue_url(QueueName=f"{prefix}-second")["QueueUrl"]
    assert [message["Body"] for message in sqs.receive_message(QueueUrl=second_url).get("Messages", [])] == ["parked"]


def test_sent_mail_is_listed_and_its_bodies_shown(api_url: str, console: ConsoleCall) -> None:
    # Given a mail sent by a function
    subject = f"Receipt {uuid.uuid4().hex[:8]}"
    mail = json.dumps({"to": "ada@example.com", "subject": subject, "text": "Thank you"})
    assert call_api(api_url, "POST", "/mail", body=mail, token=user()).status == 202

    # When the console lists the mail and opens it
    listed = next(item for item in console("GET", "api/mail").body["mail"] if item["subject"] == subject)
    opened = console("GET", f"api/mail/{listed['id']}").body

    # Then it has the sender, the recipient and the text body
    assert listed["to"] == ["ada@example.com"]
    assert (opened["source"], opened["text"]) == ("noreply@fixture.example", "Thank you")


def test_payment_intents_of_the_fake_provider_are_listed(cloud: LocalCloud, console: ConsoleCall) -> None:
    # Given a confirmed card payment at the fake provider
    assert cloud.payments is not None
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    form = {
        "amount": "2500",
        "currency": "eur",
        "payment_method": "pm_card_visa",
        "confirm": "true",
        "automatic_payment_methods[enabled]": "true",
        "automatic_payment_methods[allow_redirects]": "never",
        "metadata[order_id]": order_id,
    }
    request = urllib.request.Request(
        f"{cloud.payments.url}/v1/payment_intents",
        data=urlencode(form).encode(),
        headers={"Authorization": "Bearer sk_test_console"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200

    # When the console lists the payments
    payments = console("GET", "api/payments").body

    # Then the intent is there with its status and amount
    intent = next(intent for intent in payments["intents"] if intent["metadata"] == {"order_id": order_id})
    assert payments["enabled"]
    assert (intent["status"], intent["amount"], intent["currency"]) == ("succeeded", 2500, "eur")


def test_metrics_the_functions_emit_are_summed_and_charted(api_url: str, console: ConsoleCall) -> None:
    # Given a function that logged an EMF metric tagged with a marker of this test
    marker = uuid.uuid4().hex[:8]
    call_api(api_url, "GET", f"/report?marker={marker}")

    # When the metric has reached the emulator and a sample
    def reports() -> dict[str, Any] | None:
        for metric in console("GET", "api/metrics").body["metrics"]:
            charted = sum(total for _, total in metric["series"])
            if metric["dimensions"] == [["Marker", marker]] and charted >= 1:
                return dict(metric)
        return None

    metric = wait_for(reports, "the report metric sampled")

    # Then it has its namespace, name, sum and unit
    assert (metric["namespace"], metric["name"], metric["sum"], metric["unit"]) == (
        "FixtureApp",
        "Reports",
        1.0,
        "Count",
    )


def test_summary_counts_requests_and_invocations(api_url: str, console: ConsoleCall) -> None:
    # Given the summary before a request
    before = console("GET", "api/summary").body

    # When one more request is served
    call_api(api_url, "GET", "/hello")
    after = wait_for(
        lambda: summary if (summary := console("GET", "api/summary").body)["requests"] > before["requests"] else None,
        "the request counted",
    )

    # Then the request and its invocation are counted
    assert after["requests"] == before["requests"] + 1
    assert after["invocations"] >= before["invocations"] + 1
    assert after["payments"] is not None


def test_overview_names_the_stack_and_its_functions(cloud: LocalCloud, console: ConsoleCall) -> None:
    # When the overview is asked for
    overview = console("GET", "api/overview").body

    # Then it names the stack, its region, the emulator and the functions with their triggers
    assert cloud.report is not None
    assert (overview["stack_name"], overview["region"]) == (cloud.report.stack_name, REGION)
    assert overview["emulator_url"] == cloud.emulator.url
    triggers = {function["logical_id"]: function["triggers"] for function in overview["functions"]}
    assert triggers["HeartbeatFunction"] == ["rate(1 minute)"]
    assert triggers["JobsFunction"] == [f"SQS {queue_name(cloud, 'JobsQueue')}"]

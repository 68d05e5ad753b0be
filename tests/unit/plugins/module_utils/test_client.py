# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HostupClient against the simulator over loopback HTTP: auth, retries, errors, pagination, input checks.

Every wait goes through the fake clock of conftest.py, so the exact seconds the client chose are
asserted without the test spending them.
"""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    HostupApiError,
    HostupClient,
    HostupInputError,
    snake_case,
    validate_api_url,
)
from ansible_collections.hostup.cloud.plugins.module_utils._connection import connect
from ansible_collections.hostup.cloud.plugins.module_utils._port25 import explain_port25_error, read_port25_account
from ansible_collections.hostup.cloud.plugins.module_utils._tickets import ticket_path_id
from ansible_collections.hostup.cloud.plugins.module_utils._vps import vps_path_id
from ansible_collections.hostup.cloud.plugins.module_utils._version import COLLECTION_VERSION

DEMO_KEY = "sim-demo-key"
READONLY_KEY = "sim-readonly-key"
MAIL01 = "vps_01hmail0000000000000000001"
WEB01 = "vps_01hweb00000000000000000001"
PORT25 = "/api/v2/support/port25-requests"
VPS_LIST = "/api/v2/vps"
MAIL01_PATH = VPS_LIST + "/" + MAIL01
REASON = "Transactional mail for example.com"
REQUEST_ID = r"req_[0-9a-z]{26}"


def raises_api_error(call, *args, **kwargs):
    with pytest.raises(HostupApiError) as info:
        call(*args, **kwargs)
    return info.value


def free_port():
    """A loopback port nobody listens on (bound, then released)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


# ----- authentication ------------------------------------------------------------------------------

def test_the_key_is_sent_as_a_bearer_token(sim, client):
    data = client().get(MAIL01_PATH)
    assert data["id"] == MAIL01
    assert [(e["method"], e["path"], e["status"], e["key_name"]) for e in sim.log()] == [
        ("GET", MAIL01_PATH, 200, "demo")]


def test_a_wrong_key_gets_401_with_a_hint_about_the_key(sim, client):
    error = raises_api_error(client(api_key="sim-wrong-key").get, MAIL01_PATH)
    assert error.status == 401 and error.code == "unauthorized"
    assert re.match(r"^GET %s failed: HTTP 401 unauthorized: Authentication is required\. \(request %s\)\. "
                    r"Check api_key \(or the HOSTUP_API_KEY environment variable\)" % (MAIL01_PATH, REQUEST_ID),
                    str(error)), str(error)
    # 401 is not retried: one request only, no wait.
    assert sim.statuses() == [401]


def test_a_missing_scope_names_the_scope_the_call_needs(sim, client, clock):
    error = raises_api_error(client(api_key=READONLY_KEY).request, "POST", PORT25,
                             body={"vpsId": MAIL01, "reason": REASON}, scope="write:support", safe_to_repeat=True)
    assert error.status == 403 and error.code == "forbidden"
    assert "This call needs an API key with the write:support scope" in str(error)
    assert sim.calls() == [("POST", PORT25)] and clock.sleeps == []
    assert sim.state()["port25_requests"] == []


def test_an_empty_key_is_refused_before_any_request(sim):
    with pytest.raises(HostupInputError, match="api_key is required: set it or the HOSTUP_API_KEY"):
        HostupClient(api_key="  ", api_url=sim.url)
    assert sim.log() == []


# ----- the API key never shows ---------------------------------------------------------------------

SECRET_KEY = "hsk_live_7f3a9c1e5b2d4f6a8c0e"


def assert_secret_absent(error, sim_log):
    assert SECRET_KEY not in str(error)
    assert SECRET_KEY not in repr(error.args)
    assert SECRET_KEY not in json.dumps(error.to_result())
    assert SECRET_KEY not in json.dumps(sim_log)


def test_the_key_is_not_in_a_401_error_nor_in_the_simulator_log(sim, client):
    error = raises_api_error(client(api_key=SECRET_KEY).get, VPS_LIST)
    log = sim.log()
    assert len(log) == 1 and log[0]["key_name"] is None
    assert_secret_absent(error, log)


def test_the_key_is_not_in_a_network_error(sim, client, clock):
    error = raises_api_error(client(api_key=SECRET_KEY, api_url="http://127.0.0.1:%d" % free_port(),
                                    retries=0).get, VPS_LIST)
    assert "could not connect" in str(error)
    assert_secret_absent(error, sim.log())


def test_the_key_is_not_in_a_403_error(sim, client):
    # A key known to the simulator: the log names it ("readonly") and the error explains the scope.
    error = raises_api_error(client(api_key=READONLY_KEY).request, "POST", PORT25,
                             body={"vpsId": MAIL01, "reason": REASON}, scope="write:support")
    log = sim.log()
    assert log[0]["key_name"] == "readonly"
    assert READONLY_KEY not in str(error) and READONLY_KEY not in json.dumps(error.to_result())
    assert READONLY_KEY not in json.dumps(log)


# ----- User-Agent and exact headers (the simulator does not log headers: a recording server does) -----

class _HeaderRecorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.seen.append(dict(self.headers.items()))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def header_recorder():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HeaderRecorder)
    server.daemon_threads = True
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_legacy_port25_read_sends_the_key_as_x_api_key_too_and_only_there(header_recorder):
    params = {"api_key": " %s " % DEMO_KEY, "api_url": "http://127.0.0.1:%d" % header_recorder.server_address[1],
              "api_timeout": 5, "api_retries": 0, "validate_certs": True}
    with connect(params, environ={}) as api:
        read_port25_account(api)
        api.get(VPS_LIST)
    legacy, v2 = header_recorder.seen
    assert legacy["X-API-Key"] == DEMO_KEY and legacy["Authorization"] == "Bearer " + DEMO_KEY
    assert "X-API-Key" not in v2


def test_module_clients_send_the_collection_user_agent_and_the_bearer_key(header_recorder):
    params = {"api_key": DEMO_KEY, "api_url": "http://127.0.0.1:%d" % header_recorder.server_address[1],
              "api_timeout": 5, "api_retries": 0, "validate_certs": True}
    with connect(params, environ={}) as api:
        api.get(VPS_LIST)
    (headers,) = header_recorder.seen
    assert headers["User-Agent"] == "hostup.cloud/%s ansible-core/%s" % (COLLECTION_VERSION, ANSIBLE_CORE_VERSION)
    assert headers["Authorization"] == "Bearer " + DEMO_KEY
    assert headers["Accept"] == "application/json"


def test_whitespace_around_the_key_is_dropped(header_recorder):
    # A key pasted with a newline would otherwise be an invalid header value.
    url = "http://127.0.0.1:%d" % header_recorder.server_address[1]
    with HostupClient(api_key=" %s\n" % DEMO_KEY, api_url=url, retries=0, proxies={}) as api:
        api.get(VPS_LIST)
    assert header_recorder.seen[0]["Authorization"] == "Bearer " + DEMO_KEY


# ----- 429 -------------------------------------------------------------------------------------------

def test_429_waits_exactly_retry_after_then_retries(sim, client, clock):
    sim.fault(method="GET", path=VPS_LIST, status=429, headers={"Retry-After": "2"})
    assert client().get(VPS_LIST)["data"]
    assert clock.sleeps == [2.0]
    assert sim.statuses() == [429, 200]


def test_429_on_a_post_is_retried_too_since_nothing_was_done(sim, client, clock):
    sim.fault(method="POST", path=PORT25, status=429, headers={"Retry-After": "7"})
    response = client().request("POST", PORT25, body={"vpsId": MAIL01, "reason": REASON}, safe_to_repeat=False)
    assert response.status == 201 and response.ambiguous is False
    assert clock.sleeps == [7.0]
    assert sim.calls() == [("POST", PORT25)] * 2 and sim.statuses() == [429, 201]


def test_429_retry_after_as_an_http_date(sim, client, clock):
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    sim.fault(method="GET", path=VPS_LIST, status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    client().get(VPS_LIST)
    (waited,) = clock.sleeps
    assert 27.0 <= waited <= 30.0


def test_429_without_retry_after_waits_until_x_ratelimit_reset(sim, client, clock):
    reset = datetime.now(timezone.utc) + timedelta(seconds=5)
    stamp = reset.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (reset.microsecond // 1000)
    sim.fault(method="GET", path=VPS_LIST, status=429, headers={"X-RateLimit-Reset": stamp})
    client().get(VPS_LIST)
    (waited,) = clock.sleeps
    assert 4.0 <= waited <= 5.0, waited
    assert sim.statuses() == [429, 200]


def test_429_without_headers_backs_off_exponentially_with_jitter(sim, client, clock):
    sim.fault(method="GET", path=VPS_LIST, status=429, count=4)
    client(retries=4).get(VPS_LIST)
    assert sim.statuses() == [429, 429, 429, 429, 200]
    assert len(clock.sleeps) == 4
    # Attempt n waits between half and all of 2**(n-1) seconds.
    for attempt, waited in enumerate(clock.sleeps, start=1):
        ceiling = 2.0 ** (attempt - 1)
        assert ceiling / 2 <= waited <= ceiling, (attempt, waited)
    # Jitter: not the bare powers of two (all four landing on an exact bound is practically impossible).
    assert any(waited not in (2.0 ** (n - 1), 2.0 ** (n - 2)) for n, waited in enumerate(clock.sleeps, start=1))


def test_429_beyond_api_retries_says_rate_limited_retries_and_total_wait(sim, client, clock):
    sim.fault(method="GET", path=VPS_LIST, status=429, count=10, headers={"Retry-After": "3"})
    error = raises_api_error(client(retries=2).get, VPS_LIST)
    assert clock.sleeps == [3.0, 3.0]
    assert sim.statuses() == [429, 429, 429]
    assert error.status == 429 and error.code == "rate_limited"
    assert "rate limited; gave up after 2 retries, having waited 6.0 s in total" in str(error)
    assert str(error).startswith("GET /api/v2/vps failed: HTTP 429 rate_limited: ")


def test_the_real_rate_limit_is_honoured_and_reported(sim, client, clock):
    sim.admin("PUT", "/_sim/rate_limit", {"requests": 1, "per_seconds": 60})
    api = client(retries=2)
    api.get(VPS_LIST)
    error = raises_api_error(api.get, VPS_LIST)
    assert sim.statuses() == [200, 429, 429, 429]
    assert len(clock.sleeps) == 2 and all(59.0 <= waited <= 60.0 for waited in clock.sleeps)
    assert "having waited %.1f s in total" % sum(clock.sleeps) in str(error)


def test_a_huge_retry_after_is_capped(sim, client, clock):
    sim.fault(method="GET", path=VPS_LIST, status=429, headers={"Retry-After": "86400"})
    client().get(VPS_LIST)
    assert clock.sleeps == [300.0]


# ----- transient failures ---------------------------------------------------------------------------

@pytest.mark.parametrize("status", [502, 503, 504])
def test_get_is_retried_on_gateway_errors(sim, client, clock, status):
    sim.fault(method="GET", path=MAIL01_PATH, status=status)
    assert client().get(MAIL01_PATH)["id"] == MAIL01
    assert sim.statuses() == [status, 200]
    (waited,) = clock.sleeps
    assert 0.5 <= waited <= 1.0


def test_a_gateway_retry_honours_retry_after(sim, client, clock):
    sim.fault(method="GET", path=MAIL01_PATH, status=503, headers={"Retry-After": "4"})
    client().get(MAIL01_PATH)
    assert clock.sleeps == [4.0]


def test_get_gives_up_after_api_retries_gateway_errors(sim, client, clock):
    sim.fault(method="GET", path=MAIL01_PATH, status=503, count=10)
    error = raises_api_error(client(retries=2).get, MAIL01_PATH)
    assert sim.statuses() == [503, 503, 503] and len(clock.sleeps) == 2
    assert error.status == 503 and error.code == "upstream_unavailable"


def test_get_is_not_retried_on_500(sim, client, clock):
    sim.fault(method="GET", path=MAIL01_PATH, status=500)
    error = raises_api_error(client().get, MAIL01_PATH)
    assert sim.statuses() == [500] and clock.sleeps == []
    assert re.match(r"^GET %s failed: HTTP 500 internal_error: Injected fault \(HTTP 500\)\. \(request %s\)$"
                    % (MAIL01_PATH, REQUEST_ID), str(error)), str(error)


def test_get_is_retried_after_a_read_timeout(sim, client, clock):
    sim.fault(method="GET", path=MAIL01_PATH, latency_ms=700)
    assert client(timeout=0.3).get(MAIL01_PATH)["id"] == MAIL01
    # The slow answer is logged once its latency has passed.
    assert len(sim.wait_for_log(2)) == 2
    assert len(clock.sleeps) == 1


def test_a_read_timeout_names_the_url_and_the_timeout(sim, client, clock):
    sim.fault(method="GET", path=MAIL01_PATH, latency_ms=500)
    api = client(timeout=0.3, retries=0)
    error = raises_api_error(api.get, MAIL01_PATH)
    assert str(error) == "GET %s failed: no answer from %s%s within 0.3s (api_timeout)" % (
        MAIL01_PATH, sim.url, MAIL01_PATH)
    assert error.status is None and error.to_result()["api_error"]["status"] is None
    sim.wait_for_log(1)


def test_get_is_retried_after_a_dropped_connection(sim, client, clock):
    sim.fault(method="GET", path=MAIL01_PATH, drop=True)
    assert client().get(MAIL01_PATH)["id"] == MAIL01
    assert sim.statuses() == [None, 200] and len(clock.sleeps) == 1


def test_get_is_retried_after_a_truncated_body(sim, client, clock):
    sim.fault(method="GET", path=MAIL01_PATH, truncate=True)
    assert client().get(MAIL01_PATH)["id"] == MAIL01
    assert [e["fault"] for e in sim.log()] == [True, False] and len(clock.sleeps) == 1


def test_a_truncated_body_beyond_retries_is_a_clear_error(sim, client):
    sim.fault(method="GET", path=MAIL01_PATH, truncate=True, count=5)
    error = raises_api_error(client(retries=1).get, MAIL01_PATH)
    assert str(error).startswith("GET %s failed: incomplete answer from %s%s" % (MAIL01_PATH, sim.url, MAIL01_PATH))
    assert len(sim.log()) == 2


def test_a_post_not_safe_to_repeat_is_not_retried_on_503(sim, client, clock):
    sim.fault(method="POST", path=PORT25, status=503)
    error = raises_api_error(client().request, "POST", PORT25, body={"vpsId": MAIL01, "reason": REASON},
                             safe_to_repeat=False)
    assert sim.calls() == [("POST", PORT25)] and clock.sleeps == []
    assert error.status == 503 and error.ambiguous is True


def test_a_post_is_not_safe_to_repeat_unless_the_caller_says_so(sim, client, clock):
    sim.fault(method="POST", path=PORT25, status=502)
    error = raises_api_error(client().request, "POST", PORT25, body={"vpsId": MAIL01, "reason": REASON})
    assert sim.statuses() == [502] and clock.sleeps == []
    assert error.status == 502 and error.ambiguous is True


def test_a_post_not_safe_to_repeat_is_not_retried_after_a_drop(sim, client, clock):
    sim.fault(method="POST", path=PORT25, drop=True)
    error = raises_api_error(client().request, "POST", PORT25, body={"vpsId": MAIL01, "reason": REASON},
                             safe_to_repeat=False)
    assert sim.calls() == [("POST", PORT25)] and clock.sleeps == []
    assert error.ambiguous is True
    assert str(error).startswith("POST %s failed: connection to %s%s dropped before a complete answer" % (
        PORT25, sim.url, PORT25))


def test_a_post_safe_to_repeat_is_retried_on_503_and_marked_ambiguous(sim, client, clock):
    sim.fault(method="POST", path=PORT25, status=503)
    response = client().request("POST", PORT25, body={"vpsId": MAIL01, "reason": REASON}, safe_to_repeat=True)
    assert response.status == 201 and response.ambiguous is True
    assert sim.statuses() == [503, 201] and len(clock.sleeps) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_connection_refused_is_retried_then_names_the_url(client, clock, method):
    url = "http://127.0.0.1:%d" % free_port()
    api = client(api_url=url, retries=2)
    error = raises_api_error(api.request, method, PORT25, body={} if method == "POST" else None,
                             safe_to_repeat=False)
    # Nothing was sent, so even a POST that is not safe to repeat is tried again.
    assert api.requests_sent == 3 and len(clock.sleeps) == 2
    assert str(error).startswith("%s %s failed: could not connect to %s%s: " % (method, PORT25, url, PORT25))
    assert "Connection refused" in str(error)
    assert error.ambiguous is False


# ----- error documents ------------------------------------------------------------------------------

def test_an_rfc7807_error_reads_method_path_status_code_detail_and_request_id(sim, client):
    error = raises_api_error(client().request, "POST", PORT25, body={"vpsId": WEB01, "reason": REASON},
                             scope="write:support", safe_to_repeat=True, explain=explain_port25_error)
    text = str(error)
    match = re.match(r"^POST /api/v2/support/port25-requests failed: HTTP 403 port25_requirements_not_met: "
                     r"Port 25 requests require BankID verification or a VPS prepaid on annual billing\. "
                     r"\(request (%s)\)\. HostUp accepts port 25 requests only from accounts verified with BankID, "
                     r"or for a VPS prepaid annually or longer\." % REQUEST_ID, text)
    assert match, text
    assert error.to_result() == {"api_error": {
        "status": 403, "code": "port25_requirements_not_met", "title": "Port 25 requirements not met",
        "detail": "Port 25 requests require BankID verification or a VPS prepaid on annual billing.",
        "request_id": match.group(1), "errors": []}}
    assert sim.statuses() == [403]


def test_field_errors_are_listed_as_pointer_and_detail(sim, client):
    error = raises_api_error(client().request, "POST", PORT25, body={"reason": " "})
    assert error.status == 400 and error.code == "invalid_request"
    assert re.match(r"^POST %s failed: HTTP 400 invalid_request: The request body failed validation\. "
                    r"\(request %s\) \[/vpsId: `vpsId` is required\.; /reason: `reason` must not be blank\.\]$"
                    % (PORT25, REQUEST_ID), str(error)), str(error)
    assert [(e["pointer"], e["code"]) for e in error.to_result()["api_error"]["errors"]] == [
        ("/vpsId", "missing_required"), ("/reason", "missing_required")]


def test_a_non_json_error_body_gives_the_status_and_its_first_200_characters(sim, client):
    page = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>" + "".join(
        "line %03d of the proxy page; " % n for n in range(20)) + "</body></html>"
    sim.fault(method="GET", path=VPS_LIST, status=502, body=page)
    error = raises_api_error(client(retries=0).get, VPS_LIST)
    flat = " ".join(page.split())
    match = re.match(r"^GET /api/v2/vps failed: HTTP 502: (.*) \(request %s\)$" % REQUEST_ID, str(error))
    assert match, str(error)
    assert match.group(1) == flat[:200] and len(flat) > 200
    assert error.to_result()["api_error"]["status"] == 502 and error.code is None


def test_a_200_with_a_non_json_body_is_a_clear_error(sim, client, clock):
    sim.fault(method="GET", path=VPS_LIST, status=200, body="<html>maintenance</html>")
    error = raises_api_error(client().get, VPS_LIST)
    assert re.match(r"^GET /api/v2/vps failed: HTTP 200: <html>maintenance</html> \(the answer is not JSON\) "
                    r"\(request %s\)$" % REQUEST_ID, str(error)), str(error)
    assert sim.statuses() == [200] and clock.sleeps == []


# ----- pagination -----------------------------------------------------------------------------------

def test_paginate_follows_next_cursor_until_it_is_null(sim, client):
    sim.add_vps(250)
    items = list(client().paginate(VPS_LIST, page_size=40))
    state_ids = [vps["id"] for vps in sim.state()["vps"]]
    assert len(state_ids) == 258
    assert [item["id"] for item in items] == state_ids
    log = sim.log()
    assert [(e["method"], e["path"]) for e in log] == [("GET", VPS_LIST)] * 7
    assert log[0]["query"] == {"limit": "40"}
    assert all(set(e["query"]) == {"limit", "cursor"} for e in log[1:])
    assert len({e["query"]["cursor"] for e in log[1:]}) == 6


def test_paginate_passes_filters_on_every_page(sim, client):
    sim.add_vps(5, prefix="pg")
    items = list(client().paginate(VPS_LIST, query={"name": "mail-01"}, page_size=1))
    assert [item["name"] for item in items] == ["mail-01"]
    assert [e["query"] for e in sim.log()] == [{"name": "mail-01", "limit": "1"}]


@pytest.mark.parametrize("page, pages_read, items", [
    ({"data": [{"id": "vps_a"}]}, 1, 1),                            # no nextCursor at all
    ({"data": [{"id": "vps_a"}], "nextCursor": None}, 1, 1),        # null nextCursor
    ({"data": [], "nextCursor": "more"}, 1, 0),                     # an empty page ends it
    ({"data": [{"id": "vps_a"}], "nextCursor": "same"}, 2, 2),      # a repeated cursor cannot loop
])
def test_paginate_stops(sim, client, page, pages_read, items):
    sim.fault(method="GET", path=VPS_LIST, status=200, body=page, content_type="application/json", count=5)
    assert len(list(client().paginate(VPS_LIST))) == items
    assert len(sim.log()) == pages_read


def test_paginate_rejects_an_answer_without_a_data_list(sim, client):
    sim.fault(method="GET", path=VPS_LIST, status=200, body={"items": []}, content_type="application/json")
    with pytest.raises(HostupApiError, match="the answer has no data list"):
        list(client().paginate(VPS_LIST))


# ----- snake_case -----------------------------------------------------------------------------------

def test_snake_case_converts_nested_keys_but_not_values():
    source = {
        "vpsId": "vps_x", "name": "mailServer", "primaryIp": "192.0.2.1",
        "billing": {"billingCycle": "annually", "isPayg": False},
        "linkedServices": [{"serviceId": "vps_y", "details": {"ipAddress": "192.0.2.2"}}],
        "ccEmails": ["a@example.com"], "id": "tkt_1",
    }
    assert snake_case(source) == {
        "vps_id": "vps_x", "name": "mailServer", "primary_ip": "192.0.2.1",
        "billing": {"billing_cycle": "annually", "is_payg": False},
        "linked_services": [{"service_id": "vps_y", "details": {"ip_address": "192.0.2.2"}}],
        "cc_emails": ["a@example.com"], "id": "tkt_1",
    }


def test_snake_case_of_a_real_answer(sim, client):
    vps = snake_case(client().get(MAIL01_PATH))
    assert vps["primary_ip"] == "192.0.2.11" and vps["power_state"] == "running"
    assert vps["operating_system"]["display_name"] == "Ubuntu 24.04"
    assert vps["billing"] == {"amount": 199, "currency_code": "SEK", "billing_cycle": "annually",
                              "is_payg": False, "period_years": 1}
    assert vps["resources"] == {"cpu_cores": 2, "memory_gb": 4, "storage_gb": 80}


# ----- path parameters ------------------------------------------------------------------------------

BAD_IDS = ["tkt_1/actions/close", "../vps", "vps_a?b", "vps_a#b", "%2F", "tkt_%2F", "tkt_1 2", " tkt_1", "",
           "tkt_", "vps_a\n", "tkt_1\n", "149943\n", "12a", "tkt_é"]


@pytest.mark.parametrize("value", BAD_IDS + [149943, None, ["tkt_1"]])
def test_a_bad_ticket_id_is_rejected(value):
    with pytest.raises(HostupInputError, match="^invalid id .*: a ticket id must be tkt_"):
        ticket_path_id(value)


@pytest.mark.parametrize("value", BAD_IDS + ["tkt_01hticket00000000000000001", "149943", 1, None])
def test_a_bad_vps_id_is_rejected(value):
    with pytest.raises(HostupInputError, match="^invalid id .*: a VPS id must look like vps_"):
        vps_path_id(value)


@pytest.mark.parametrize("value", ["tkt_01hticket00000000000000001", "149943"])
def test_good_ticket_ids_pass_unchanged(value):
    assert ticket_path_id(value) == value


def test_a_good_vps_id_passes_unchanged():
    assert vps_path_id(MAIL01) == MAIL01


# ----- api_url --------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("https://cloud.hostup.se", "https://cloud.hostup.se"),
    ("https://cloud.hostup.se/", "https://cloud.hostup.se"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://127.3.2.1", "http://127.3.2.1"),
    ("http://localhost:9000/", "http://localhost:9000"),
    ("http://[::1]:9000", "http://[::1]:9000"),
])
def test_accepted_api_urls(url, expected):
    assert validate_api_url(url) == expected


@pytest.mark.parametrize("url", ["http://cloud.hostup.se", "http://192.0.2.10:8080", "http://0.0.0.0",
                                 "http://localhost.example.com", "http://[::2]"])
def test_plain_http_to_a_non_loopback_host_is_refused(url):
    with pytest.raises(HostupInputError, match="uses plain http to a non-loopback host; the API key would travel "
                                               "in clear text"):
        validate_api_url(url)


@pytest.mark.parametrize("url", ["cloud.hostup.se", "not a url", "ftp://cloud.hostup.se", "https://",
                                 "https://cloud.hostup.se:99999"])
def test_something_that_is_not_an_http_url_is_refused(url):
    with pytest.raises(HostupInputError, match="is not a valid http\\(s\\) URL"):
        validate_api_url(url)


def test_an_empty_api_url_is_refused():
    with pytest.raises(HostupInputError, match="api_url must be an https:// URL"):
        validate_api_url("")


def test_an_api_url_with_credentials_is_refused_without_echoing_them(sim):
    with pytest.raises(HostupInputError) as info:
        HostupClient(api_key=DEMO_KEY, api_url="https://user:s3cret-pw@cloud.hostup.se")
    assert str(info.value) == "api_url must not carry credentials; use api_key"
    assert "s3cret-pw" not in str(info.value)

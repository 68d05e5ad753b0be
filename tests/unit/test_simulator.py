"""Self-test of the HostUp API simulator (tests/simulator/hostup_sim.py).

Other tests trust the simulator to behave like the API described in
docs/api.md; these tests pin that behaviour down.  They talk to it over
real HTTP with ``urllib.request``, ``http.client`` or a raw socket (never
the collection's client), so they see exactly what the server sends.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SIM_DIR = Path(__file__).resolve().parents[1] / "simulator"
sys.path.insert(0, str(SIM_DIR))

import hostup_sim  # noqa: E402  (needs the path set up above)

DEMO_KEY = "sim-demo-key"
READONLY_KEY = "sim-readonly-key"
MAIL01 = "vps_01hmail0000000000000000001"
MAIL02 = "vps_01hmail0000000000000000002"
WEB01 = "vps_01hweb00000000000000000001"
MAIL_NEW = "vps_01hmailnew0000000000000001"
OPEN_TICKET = "tkt_01hticket00000000000000001"
PORT25 = "/api/v2/support/port25-requests"
REASON = "Transactional mail for example.com with bounce handling."

REQUEST_ID = re.compile(r"^req_[0-9a-z]{26}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Answer:
    """Status, headers and body of one HTTP exchange."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw

    @property
    def json(self):
        return json.loads(self.raw.decode("utf-8"))


def call(sim, method, path, body=None, key=DEMO_KEY, timeout=5):
    """Send one request; HTTP errors are returned as answers, not raised."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Authorization"] = "Bearer " + key
    request = urllib.request.Request(sim.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def admin(sim, method, path, body=None):
    """Call the /_sim/ admin API (no key)."""
    return call(sim, method, path, body=body, key=None)


def file_port25(sim, vps_id=MAIL01, key=DEMO_KEY):
    return call(sim, "POST", PORT25, {"vpsId": vps_id, "reason": REASON}, key=key)


def add_fault(sim, **spec):
    assert admin(sim, "POST", "/_sim/faults", spec).status == 201


def state(sim):
    return admin(sim, "GET", "/_sim/state").json


def assert_problem(answer, status, code):
    """Check the RFC 7807 document and the X-Request-Id header."""
    assert answer.status == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    doc = answer.json
    assert doc["status"] == status
    assert doc["code"] == code
    assert doc["type"] == "https://developer.hostup.se/errors/" + code
    assert doc["title"] and doc["detail"] and doc["instance"].startswith("/")
    assert REQUEST_ID.match(doc["requestId"])
    assert TIMESTAMP.match(doc["timestamp"])
    assert answer.headers["X-Request-Id"] == doc["requestId"]
    return doc


@pytest.fixture(scope="module")
def sim():
    with hostup_sim.Simulator() as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def fresh_state(sim):
    assert admin(sim, "POST", "/_sim/reset").status == 200


# ----- state file ---------------------------------------------------------

def test_default_state_ids_have_the_public_format():
    data = hostup_sim.load_state(None)
    ids = [item["id"] for item in data["vps"] + data["tickets"]]
    assert all(re.match(r"^(vps|tkt)_[0-9a-z]{26}$", item) for item in ids)
    assert len(set(ids)) == len(ids)


# ----- auth ---------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "not-a-key"])
def test_missing_or_unknown_key_is_401(sim, key):
    doc = assert_problem(call(sim, "GET", "/api/v2/vps", key=key), 401, "unauthorized")
    assert doc["instance"] == "/api/v2/vps"


def test_missing_scope_is_403_naming_the_scope(sim):
    doc = assert_problem(file_port25(sim, key=READONLY_KEY), 403, "forbidden")
    assert "write:support" in doc["detail"]
    assert state(sim)["port25_requests"] == []


def test_unknown_route_is_404(sim):
    assert_problem(call(sim, "GET", "/api/v2/nothing-here"), 404, "not_found")


# ----- VPS ----------------------------------------------------------------

def test_vps_pages_end_with_null_cursor(sim):
    seen, cursor, pages = [], None, 0
    while True:
        path = "/api/v2/vps?limit=3" + ("&cursor=" + cursor if cursor else "")
        answer = call(sim, "GET", path)
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "application/json"
        assert REQUEST_ID.match(answer.headers["X-Request-Id"])
        seen += [item["id"] for item in answer.json["data"]]
        cursor, pages = answer.json["nextCursor"], pages + 1
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 8


@pytest.mark.parametrize("limit,code", [("0", "out_of_range"), ("101", "out_of_range"), ("abc", "invalid_type")])
def test_vps_bad_limit_is_400_on_limit(sim, limit, code):
    doc = assert_problem(call(sim, "GET", "/api/v2/vps?limit=" + limit), 400, "invalid_request")
    assert doc["errors"][0]["pointer"] == "/limit"
    assert doc["errors"][0]["code"] == code


def test_vps_garbage_cursor_is_invalid_cursor(sim):
    assert_problem(call(sim, "GET", "/api/v2/vps?cursor=%%%not-base64"), 400, "invalid_cursor")
    assert_problem(call(sim, "GET", "/api/v2/vps?cursor=bm90IGpzb24"), 400, "invalid_cursor")


def test_vps_name_filter_is_case_insensitive_and_ip_exact(sim):
    assert [v["name"] for v in call(sim, "GET", "/api/v2/vps?name=MAIL-CASE").json["data"]] == ["Mail-Case"]
    assert len(call(sim, "GET", "/api/v2/vps?name=dup-name").json["data"]) == 2
    assert call(sim, "GET", "/api/v2/vps?name=mail").json["data"] == []
    by_ip = call(sim, "GET", "/api/v2/vps?primaryIp=192.0.2.12").json["data"]
    assert [v["id"] for v in by_ip] == [MAIL02]


def test_vps_get_hides_simulator_fields_and_404s(sim):
    answer = call(sim, "GET", "/api/v2/vps/" + MAIL_NEW)
    assert answer.status == 200 and answer.json["powerState"] == "provisioning"
    assert "readyAfterAttempts" not in answer.raw.decode()
    assert "readyAfterAttempts" not in call(sim, "GET", "/api/v2/vps?limit=100").raw.decode()
    assert_problem(call(sim, "GET", "/api/v2/vps/vps_nope"), 404, "vps_not_found")


# ----- port 25 ------------------------------------------------------------

def test_port25_created_then_pending_conflict(sim):
    created = file_port25(sim)
    assert created.status == 201
    body = created.json
    assert re.match(r"^p25_[0-9a-z]{26}$", body["id"])
    assert (body["vpsId"], body["vpsName"], body["ipAddress"]) == (MAIL01, "mail-01", "192.0.2.11")
    assert (body["status"], body["reason"], body["resolvedAt"]) == ("pending", REASON, None)
    doc = assert_problem(file_port25(sim), 409, "port25_request_pending")
    assert doc["detail"] == "A Port 25 request for this VPS/IP is already pending review."
    assert len(state(sim)["port25_requests"]) == 1


def test_port25_approved_blocks_but_rejected_does_not(sim):
    first = file_port25(sim).json["id"]
    assert admin(sim, "POST", "/_sim/port25/%s/approve" % first).json["status"] == "approved"
    doc = assert_problem(file_port25(sim), 409, "port25_request_exists")
    assert doc["detail"] == "Port 25 is already unblocked for this VPS/IP."
    second = file_port25(sim, MAIL02).json["id"]
    rejected = admin(sim, "POST", "/_sim/port25/%s/reject" % second).json
    assert rejected["status"] == "rejected" and rejected["resolvedAt"]
    assert file_port25(sim, MAIL02).status == 201


def test_port25_requirements_not_met_until_bankid(sim):
    doc = assert_problem(file_port25(sim, WEB01), 403, "port25_requirements_not_met")
    assert doc["detail"] == "Port 25 requests require BankID verification or a VPS prepaid on annual billing."
    assert admin(sim, "PUT", "/_sim/account", {"bankid_verified": True}).status == 200
    assert file_port25(sim, WEB01).status == 201


def test_port25_unknown_vps_is_404(sim):
    assert_problem(file_port25(sim, "vps_00000000000000000000000000"), 404, "vps_not_found")


@pytest.mark.parametrize("body,expected", [
    ({}, [("/vpsId", "missing_required"), ("/reason", "missing_required")]),
    ({"vpsId": 7, "reason": "   "}, [("/vpsId", "invalid_type"), ("/reason", "missing_required")]),
    ({"vpsId": MAIL01, "reason": ["x"]}, [("/reason", "invalid_type")]),
    ({"vpsId": MAIL01, "reason": "x" * 5001}, [("/reason", "too_long")]),
    (["not", "an", "object"], [("", "invalid_type")]),
])
def test_port25_validation_lists_field_errors(sim, body, expected):
    doc = assert_problem(call(sim, "POST", PORT25, body), 400, "invalid_request")
    assert [(e["pointer"], e["code"]) for e in doc["errors"]] == expected
    assert all(e["detail"] for e in doc["errors"])


def test_port25_vps_not_ready_then_ready(sim):
    for dummy in range(2):
        doc = assert_problem(file_port25(sim, MAIL_NEW), 409, "vps_not_ready")
        assert doc["detail"] == "VPS not ready."
    assert call(sim, "GET", "/api/v2/vps/" + MAIL_NEW).json["powerState"] == "running"
    assert file_port25(sim, MAIL_NEW).status == 201


# ----- tickets ------------------------------------------------------------

def test_ticket_list_is_summaries_with_filters(sim):
    answer = call(sim, "GET", "/api/v2/support/tickets")
    assert answer.status == 200 and answer.json["nextCursor"] is None
    assert len(answer.json["data"]) == 3
    for summary in answer.json["data"]:
        assert not {"body", "attachments", "messages"} & set(summary)
    closed = call(sim, "GET", "/api/v2/support/tickets?status=closed").json["data"]
    assert [t["number"] for t in closed] == ["149944"]
    billing = call(sim, "GET", "/api/v2/support/tickets?departmentSlug=billing").json["data"]
    assert [t["number"] for t in billing] == ["149944"]
    paged = call(sim, "GET", "/api/v2/support/tickets?limit=2").json
    assert len(paged["data"]) == 2 and paged["nextCursor"]


def test_ticket_by_number_and_not_found(sim):
    answer = call(sim, "GET", "/api/v2/support/tickets/149943")
    assert answer.json["id"] == OPEN_TICKET and "messages" in answer.json
    doc = assert_problem(call(sim, "GET", "/api/v2/support/tickets/999999"), 404, "ticket_not_found")
    assert doc["title"] == "Ticket not found"


def test_ticket_close_and_reopen_with_conflicts(sim):
    before = call(sim, "GET", "/api/v2/support/tickets/" + OPEN_TICKET).json
    assert_problem(call(sim, "POST", "/api/v2/support/tickets/149943/actions/reopen"), 409, "ticket_not_closed")
    closed = call(sim, "POST", "/api/v2/support/tickets/%s/actions/close" % OPEN_TICKET)
    assert closed.status == 200 and closed.json["status"] == "closed"
    assert closed.json["updatedAt"] > before["updatedAt"]
    assert_problem(call(sim, "POST", "/api/v2/support/tickets/149943/actions/close"), 409, "ticket_already_closed")
    reopened = call(sim, "POST", "/api/v2/support/tickets/%s/actions/reopen" % OPEN_TICKET)
    assert reopened.status == 200 and reopened.json["status"] == "open"


def test_ticket_in_unknown_status_closes_but_does_not_reopen(sim):
    assert admin(sim, "POST", "/_sim/tickets/149943/status", {"status": "unknown"}).status == 200
    assert_problem(call(sim, "POST", "/api/v2/support/tickets/149943/actions/reopen"), 409, "ticket_not_closed")
    assert call(sim, "POST", "/api/v2/support/tickets/149943/actions/close").json["status"] == "closed"


# ----- rate limit ---------------------------------------------------------

def test_rate_limit_429_headers_and_no_side_effect(sim):
    assert admin(sim, "PUT", "/_sim/rate_limit", {"requests": 2, "per_seconds": 60}).status == 200
    first = call(sim, "GET", "/api/v2/vps")
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("2", "1")
    assert call(sim, "GET", "/api/v2/vps").headers["X-RateLimit-Remaining"] == "0"
    limited = file_port25(sim)
    doc = assert_problem(limited, 429, "rate_limited")
    assert doc["detail"] == "Rate limit exceeded. Please try again later."
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert TIMESTAMP.match(limited.headers["X-RateLimit-Reset"])
    assert state(sim)["port25_requests"] == []
    assert admin(sim, "GET", "/_sim/log").json["rate_limited"] == 1


def test_rate_limit_token_bucket_burst_then_refill(sim):
    # Three at once, then one more every 0.5 s; a refused request takes no token.
    assert admin(sim, "PUT", "/_sim/rate_limit", {"burst": 3, "per_second": 2}).status == 200
    statuses = [call(sim, "GET", "/api/v2/vps").status for dummy in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = call(sim, "GET", "/api/v2/vps")
    assert_problem(limited, 429, "rate_limited")
    assert limited.headers["Retry-After"] == "1"
    assert (limited.headers["X-RateLimit-Limit"], limited.headers["X-RateLimit-Remaining"]) == ("3", "0")
    assert TIMESTAMP.match(limited.headers["X-RateLimit-Reset"])
    time.sleep(0.6)
    assert call(sim, "GET", "/api/v2/vps").status == 200
    assert call(sim, "GET", "/api/v2/vps").status == 429


@pytest.mark.parametrize("setting", [
    {"burst": 0, "per_second": 1}, {"burst": 2}, {"burst": 2, "per_second": "1"}, {"requests": 2},
])
def test_rate_limit_setting_is_checked(sim, setting):
    assert admin(sim, "PUT", "/_sim/rate_limit", setting).status == 400


def test_rate_limit_on_key_beats_global(sim):
    custom = hostup_sim.load_state(None)
    custom["rate_limit"] = {"requests": 100, "per_seconds": 60}
    custom["keys"][1]["rate_limit"] = {"requests": 1, "per_seconds": 60}
    assert admin(sim, "POST", "/_sim/reset", {"state": custom}).status == 200
    assert call(sim, "GET", "/api/v2/vps", key=READONLY_KEY).status == 200
    assert call(sim, "GET", "/api/v2/vps", key=READONLY_KEY).status == 429
    assert call(sim, "GET", "/api/v2/vps").headers["X-RateLimit-Limit"] == "100"


# ----- faults -------------------------------------------------------------

def test_fault_status_replaces_answer_without_side_effect(sim):
    add_fault(sim, method="POST", path=PORT25, status=503, headers={"Retry-After": "1"})
    answer = file_port25(sim)
    assert_problem(answer, 503, "upstream_unavailable")
    assert answer.headers["Retry-After"] == "1"
    assert state(sim)["port25_requests"] == []
    assert file_port25(sim).status == 201


def test_fault_raw_html_body(sim):
    add_fault(sim, method="GET", path="/api/v2/vps", status=502, body="<html>Bad gateway</html>")
    answer = call(sim, "GET", "/api/v2/vps")
    assert answer.status == 502
    assert answer.headers["Content-Type"] == "text/html"
    assert answer.raw == b"<html>Bad gateway</html>"
    assert REQUEST_ID.match(answer.headers["X-Request-Id"])


def test_fault_429_has_no_retry_after_unless_given(sim):
    add_fault(sim, method="*", path="/api/v2/*", status=429)
    answer = call(sim, "GET", "/api/v2/support/tickets")
    assert_problem(answer, 429, "rate_limited")
    assert "Retry-After" not in answer.headers


def test_fault_drop_closes_without_answer(sim):
    add_fault(sim, method="POST", path=PORT25, drop=True)
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
        file_port25(sim)
    assert state(sim)["port25_requests"] == []
    entry = admin(sim, "GET", "/_sim/log").json["requests"][-1]
    assert entry["fault"] is True and entry["status"] is None


def test_fault_truncate_sends_half_the_body(sim):
    add_fault(sim, method="POST", path=PORT25, truncate=True)
    request = urllib.request.Request(sim.url + PORT25, method="POST",
                                     data=json.dumps({"vpsId": MAIL01, "reason": REASON}).encode(),
                                     headers={"Authorization": "Bearer " + DEMO_KEY,
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    assert state(sim)["port25_requests"] == []


def test_fault_apply_does_the_work_then_fails(sim):
    add_fault(sim, method="POST", path=PORT25, status=502, apply=True)
    assert_problem(file_port25(sim), 502, "upstream_unavailable")
    assert [r["vpsId"] for r in state(sim)["port25_requests"]] == [MAIL01]
    assert_problem(file_port25(sim), 409, "port25_request_pending")
    add_fault(sim, method="POST", path="/api/v2/support/tickets/*", status=500, apply=True)
    assert_problem(call(sim, "POST", "/api/v2/support/tickets/149943/actions/close"), 500, "internal_error")
    assert call(sim, "GET", "/api/v2/support/tickets/149943").json["status"] == "closed"


def test_fault_latency_only_delays_then_serves(sim):
    add_fault(sim, method="GET", path="/api/v2/vps", latency_ms=300)
    started = time.monotonic()
    assert call(sim, "GET", "/api/v2/vps").status == 200
    assert time.monotonic() - started >= 0.3
    assert admin(sim, "GET", "/_sim/log").json["requests"][-1]["fault"] is True


def test_faults_count_fifo_and_clear(sim):
    add_fault(sim, method="GET", path="/api/v2/vps", status=503, count=2)
    add_fault(sim, method="GET", path="/api/v2/vps", status=500)
    statuses = [call(sim, "GET", "/api/v2/vps").status for dummy in range(4)]
    assert statuses == [503, 503, 500, 200]
    add_fault(sim, method="GET", path="/api/v2/vps", status=500)
    assert admin(sim, "DELETE", "/_sim/faults").status == 200
    assert call(sim, "GET", "/api/v2/vps").status == 200


def test_global_latency_delays_api_but_not_admin():
    with hostup_sim.Simulator(latency_ms=200) as slow:
        started = time.monotonic()
        admin(slow, "GET", "/_sim/state")
        assert time.monotonic() - started < 0.2
        started = time.monotonic()
        assert call(slow, "GET", "/api/v2/vps").status == 200
        assert time.monotonic() - started >= 0.2


# ----- hostile faults -----------------------------------------------------

def exchange(sim, method, path, body=None, key=DEMO_KEY, timeout=5):
    """One request over http.client, which never follows redirects: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", sim.port_number, timeout=timeout)
    headers = {"Authorization": "Bearer " + key} if key is not None else {}
    data = None if body is None else json.dumps(body)
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def arrivals(sim, path, key=DEMO_KEY):
    """GET ``path`` on a raw socket; return [(seconds after sending, bytes)] until the answer is complete."""
    with socket.create_connection(("127.0.0.1", sim.port_number), timeout=5) as conn:
        conn.sendall(("GET %s HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer %s\r\n\r\n" % (path, key)).encode())
        started, pieces, received = time.monotonic(), [], b""
        while True:
            piece = conn.recv(65536)
            if not piece:
                break
            pieces.append((time.monotonic() - started, piece))
            received += piece
            head, found, rest = received.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^Content-Length: *(\d+)", head)
            if found and length and len(rest) >= int(length.group(1)):
                break
    return pieces


def split_answer(pieces):
    head, dummy, body = b"".join(piece for dummy2, piece in pieces).partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def bad_fault(sim, spec):
    """POST an invalid fault; return the pointers of the field errors of its 400."""
    answer = admin(sim, "POST", "/_sim/faults", spec)
    assert answer.status == 400
    return [error["pointer"] for error in answer.json["errors"]]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_fault_redirect_status_and_location(sim, status):
    add_fault(sim, method="GET", path="/api/v2/vps", status=status, location="http://192.0.2.80/api/v2/vps")
    code, headers, body = exchange(sim, "GET", "/api/v2/vps")
    assert code == status
    assert headers["Location"] == "http://192.0.2.80/api/v2/vps"
    assert headers["Content-Type"] == "text/html" and b"192.0.2.80" in body
    assert exchange(sim, "GET", "/api/v2/vps")[0] == 200


@pytest.mark.parametrize("apply,filed", [(False, 0), (True, 1)])
def test_fault_redirect_before_or_after_the_work(sim, apply, filed):
    add_fault(sim, method="POST", path=PORT25, location="/api/v2/elsewhere", apply=apply)
    code, headers, dummy = exchange(sim, "POST", PORT25, {"vpsId": MAIL01, "reason": REASON})
    assert (code, headers["Location"]) == (302, "/api/v2/elsewhere")
    assert len(state(sim)["port25_requests"]) == filed
    assert admin(sim, "GET", "/_sim/log").json["requests"][-1]["status"] == 302


def test_fault_redirect_needs_a_3xx_status(sim):
    assert bad_fault(sim, {"status": 200, "location": "/x"}) == ["/status"]
    assert bad_fault(sim, {"location": 7}) == ["/location"]


def test_fault_trickle_body_arrives_chunk_by_chunk(sim):
    add_fault(sim, method="GET", path="/api/v2/vps",
              trickle={"part": "body", "chunk_bytes": 8, "interval_ms": 200, "length": 48})
    pieces = arrivals(sim, "/api/v2/vps?name=none")
    head, body = split_answer(pieces)
    assert head.startswith("HTTP/1.1 200 ") and "Content-Length: 48" in head
    assert len(body) == 48 and json.loads(body) == {"data": [], "nextCursor": None}
    assert pieces[0][0] < 0.4 and b"\r\n\r\n" in pieces[0][1]  # headers (and the first chunk) at once
    assert 0.9 <= pieces[-1][0] < 2.5  # five more chunks, 200 ms apart
    assert len(pieces) >= 4


def test_fault_trickle_headers_then_body_at_once(sim):
    add_fault(sim, method="GET", path="/api/v2/vps", trickle={"part": "headers", "chunk_bytes": 60, "interval_ms": 150})
    pieces = arrivals(sim, "/api/v2/vps?name=none")
    head, body = split_answer(pieces)
    assert pieces[0][0] < 0.3 and pieces[0][1].startswith(b"HTTP/1.1 200") and b"\r\n\r\n" not in pieces[0][1]
    chunks = -(-(len(head) + 4) // 60)
    assert (chunks - 1) * 0.15 - 0.05 <= pieces[-1][0] < 2.5
    assert json.loads(body) == {"data": [], "nextCursor": None}


def test_fault_trickle_all_and_no_padding_below_the_real_length(sim):
    add_fault(sim, method="GET", path="/api/v2/vps", trickle={"part": "all", "chunk_bytes": 100, "interval_ms": 100,
                                                              "length": 5})
    pieces = arrivals(sim, "/api/v2/vps?name=mail-01")
    head, body = split_answer(pieces)
    assert [v["id"] for v in json.loads(body)["data"]] == [MAIL01]
    chunks = -(-(len(head) + 4 + len(body)) // 100)
    assert chunks >= 5 and (chunks - 1) * 0.1 - 0.05 <= pieces[-1][0] < 2.5


def test_fault_trickle_definition_is_checked(sim):
    assert bad_fault(sim, {"trickle": {"part": "middle"}}) == ["/trickle/part"]
    assert bad_fault(sim, {"trickle": {"chunk_bytes": 0}}) == ["/trickle/chunk_bytes"]
    assert bad_fault(sim, {"trickle": {"interval_ms": 0}}) == ["/trickle/interval_ms"]
    assert bad_fault(sim, {"trickle": {"length": -1}}) == ["/trickle/length"]
    assert bad_fault(sim, {"trickle": "slow"}) == ["/trickle"]


def test_fault_slow_headers_after_the_work_is_done(sim):
    add_fault(sim, method="POST", path=PORT25, headers_delay_ms=800)
    with pytest.raises(socket.timeout):
        exchange(sim, "POST", PORT25, {"vpsId": MAIL01, "reason": REASON}, timeout=0.3)
    # The client gave up, but the request was filed (and logged) when it arrived.
    assert [r["vpsId"] for r in state(sim)["port25_requests"]] == [MAIL01]
    assert admin(sim, "GET", "/_sim/log").json["requests"][-1]["status"] == 201
    add_fault(sim, method="GET", path="/api/v2/vps", headers_delay_ms=500)
    pieces = arrivals(sim, "/api/v2/vps?name=none")
    assert 0.5 <= pieces[0][0] < 2.0 and pieces[0][1].startswith(b"HTTP/1.1 200")


def test_fault_list_endless_gives_fresh_cursors_forever(sim):
    add_fault(sim, method="GET", path="/api/v2/vps", list="endless", persist=True)
    cursors, path = [], "/api/v2/vps?limit=3"
    for dummy in range(6):  # 8 VPSes: three real pages, then it starts over
        page = call(sim, "GET", path).json
        assert page["data"] and all(item["id"].startswith("vps_") for item in page["data"])
        cursors.append(page["nextCursor"])
        path = "/api/v2/vps?limit=3&cursor=" + page["nextCursor"]
    assert len(set(cursors)) == 6 and None not in cursors
    assert admin(sim, "GET", "/_sim/faults").json["faults"][0]["persist"] is True
    assert admin(sim, "DELETE", "/_sim/faults").status == 200
    assert call(sim, "GET", path).json == {"data": [], "nextCursor": None}


def test_fault_list_endless_on_tickets(sim):
    add_fault(sim, method="GET", path="/api/v2/support/tickets", list="endless", count=3)
    first = call(sim, "GET", "/api/v2/support/tickets").json
    second = call(sim, "GET", "/api/v2/support/tickets?cursor=" + first["nextCursor"]).json
    third = call(sim, "GET", "/api/v2/support/tickets?cursor=" + second["nextCursor"]).json
    assert len({first["nextCursor"], second["nextCursor"], third["nextCursor"]}) == 3
    assert [t["id"] for t in second["data"]] == [t["id"] for t in first["data"]]
    assert call(sim, "GET", "/api/v2/support/tickets?cursor=" + third["nextCursor"]).json["nextCursor"] is None


@pytest.mark.parametrize("mode,check", [
    ("cursor_object", lambda page: page["nextCursor"] == {"offset": 3} and len(page["data"]) == 3),
    ("items_not_objects", lambda page: page["data"] == [1, 2, 3]),
    ("items_without_id", lambda page: len(page["data"]) == 3
     and all("id" not in item and item["name"] for item in page["data"])),
    ("data_not_list", lambda page: isinstance(page["data"], dict) and MAIL01 in page["data"]
     and page["data"][MAIL01]["name"] == "mail-01"),
])
def test_fault_list_malformed_data(sim, mode, check):
    add_fault(sim, method="GET", path="/api/v2/vps", list=mode)
    answer = call(sim, "GET", "/api/v2/vps?limit=3")
    assert answer.status == 200 and check(answer.json)
    assert call(sim, "GET", "/api/v2/vps?limit=3").json["nextCursor"] == hostup_sim.encode_cursor(3)


def test_fault_list_modes_combine_and_spare_errors(sim):
    add_fault(sim, method="GET", path="/api/v2/support/tickets", list=["cursor_object", "items_without_id"], count=2)
    page = call(sim, "GET", "/api/v2/support/tickets?limit=2").json
    assert page["nextCursor"] == {"offset": 2} and all("id" not in item for item in page["data"])
    assert_problem(call(sim, "GET", "/api/v2/support/tickets", key="wrong-key"), 401, "unauthorized")
    assert bad_fault(sim, {"list": "sideways"}) == ["/list"]
    assert bad_fault(sim, {"list": "endless", "status": 200}) == ["/list"]


@pytest.mark.parametrize("body,content_type,status", [
    ('{"data": [{"id": "vps_', "application/json", 200),
    ("Service temporarily unavailable", "text/plain", 503),
    ("", "application/json", 200),
    ("<html><body>Not JSON</body></html>", "application/problem+json", 500),
])
def test_fault_malformed_or_non_json_body(sim, body, content_type, status):
    add_fault(sim, method="GET", path="/api/v2/vps", status=status, body=body, content_type=content_type)
    code, headers, raw = exchange(sim, "GET", "/api/v2/vps")
    assert (code, headers["Content-Type"], raw) == (status, content_type, body.encode())
    assert headers["Content-Length"] == str(len(body))


def test_fault_echo_key_in_detail(sim):
    add_fault(sim, method="GET", path="/api/v2/vps", echo_key="detail", count=2)
    doc = assert_problem(call(sim, "GET", "/api/v2/vps"), 401, "unauthorized")
    assert DEMO_KEY in doc["detail"]
    # The key as the server saw it: a padded key is echoed stripped.
    doc = assert_problem(call(sim, "GET", "/api/v2/vps", key="  sim-readonly-key "), 401, "unauthorized")
    assert "The API key sim-readonly-key was refused." in doc["detail"]
    add_fault(sim, method="POST", path=PORT25, echo_key="detail", status=400, detail="Bad reason.")
    doc = assert_problem(file_port25(sim), 400, "invalid_request")
    assert doc["detail"] == "Bad reason. The API key %s was refused." % DEMO_KEY


def test_fault_echo_key_in_html_page_cut_by_a_200_char_excerpt(sim):
    add_fault(sim, method="POST", path=PORT25, echo_key="html")
    answer = file_port25(sim)
    page = answer.raw.decode()
    assert answer.status == 502 and answer.headers["Content-Type"] == "text/html"
    assert page.index(DEMO_KEY) == 190 and len(page) > 200
    assert DEMO_KEY not in page[:200] and page[:200].endswith(DEMO_KEY[:10])
    assert state(sim)["port25_requests"] == []


def test_fault_echo_key_in_vps_data(sim):
    add_fault(sim, method="GET", path="/api/v2/vps*", echo_key="data", count=2)
    vps = call(sim, "GET", "/api/v2/vps/" + MAIL01).json
    assert vps["name"] == "mail-01 " + DEMO_KEY
    assert vps["tags"] == ["mail", DEMO_KEY] and vps["operatingSystem"]["displayName"] == DEMO_KEY
    listed = call(sim, "GET", "/api/v2/vps?limit=2").json
    assert all(item["name"].endswith(" " + DEMO_KEY) for item in listed["data"])
    assert listed["nextCursor"] == hostup_sim.encode_cursor(2)
    assert DEMO_KEY not in call(sim, "GET", "/api/v2/vps").raw.decode()
    assert bad_fault(sim, {"echo_key": "data", "status": 500}) == ["/echo_key"]
    assert bad_fault(sim, {"echo_key": "headers"}) == ["/echo_key"]


def test_fault_terminal_escapes_in_detail_and_title(sim):
    add_fault(sim, method="GET", path="/api/v2/vps", status=500,
              detail="\x1b[2J\x1b[31mboom\r\nok: [host]", title="Oops\x1b]0;owned\x07\nok: [host]")
    doc = assert_problem(call(sim, "GET", "/api/v2/vps"), 500, "internal_error")
    assert doc["detail"] == "\x1b[2J\x1b[31mboom\r\nok: [host]"
    assert doc["title"] == "Oops\x1b]0;owned\x07\nok: [host]"


# ----- log, reset, bulk ---------------------------------------------------

def test_log_records_api_requests_without_key_values(sim):
    file_port25(sim)
    call(sim, "GET", "/api/v2/vps?limit=2&name=mail-01", key=READONLY_KEY)
    call(sim, "GET", "/api/v2/vps", key="secret-unknown-key")
    entries = admin(sim, "GET", "/_sim/log").json["requests"]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    first, second, third = entries
    assert (first["method"], first["path"], first["status"], first["key_name"]) == ("POST", PORT25, 201, "demo")
    assert first["body"] == {"vpsId": MAIL01, "reason": REASON} and first["fault"] is False
    assert second["query"] == {"limit": "2", "name": "mail-01"} and second["key_name"] == "readonly"
    assert third["status"] == 401 and third["key_name"] is None and TIMESTAMP.match(third["time"])
    text = json.dumps(entries)
    for secret in (DEMO_KEY, READONLY_KEY, "secret-unknown-key"):
        assert secret not in text
    assert admin(sim, "DELETE", "/_sim/log").status == 200
    assert admin(sim, "GET", "/_sim/log").json["requests"] == []


def test_reset_restores_start_state_or_installs_given_one(sim):
    file_port25(sim)
    admin(sim, "PATCH", "/_sim/vps/" + MAIL01, {"powerState": "stopped", "billing": {"isPayg": True}})
    patched = call(sim, "GET", "/api/v2/vps/" + MAIL01).json
    assert patched["powerState"] == "stopped" and patched["billing"]["billingCycle"] == "annually"
    admin(sim, "POST", "/_sim/reset")
    current = state(sim)
    assert current["port25_requests"] == [] and current["vps"][0]["powerState"] == "running"
    assert admin(sim, "POST", "/_sim/reset", {"state": {"keys": current["keys"]}}).status == 200
    assert call(sim, "GET", "/api/v2/vps").json == {"data": [], "nextCursor": None}


def test_bulk_vps_generation(sim):
    answer = admin(sim, "POST", "/_sim/vps/bulk", {"count": 520, "prefix": "bench"})
    created = answer.json
    assert answer.status == 201 and len(created) == 520
    assert created[0]["name"] == "bench-001" and created[-1]["name"] == "bench-520"
    assert all(re.match(r"^vps_[0-9a-z]{26}$", v["id"]) for v in created)
    ips = [v["primaryIp"] for v in created]
    assert len(set(ips)) == 520
    # 254 hosts in each documentation /24, then the 10.200.0.0 overflow pool.
    assert (ips[0], ips[254], ips[508]) == ("198.51.100.1", "203.0.113.1", "10.200.0.1")
    more = admin(sim, "POST", "/_sim/vps/bulk", {"count": 1, "prefix": "bench"}).json
    assert more[0]["name"] == "bench-521" and more[0]["primaryIp"] not in ips
    assert file_port25(sim, created[5]["id"]).status == 201


# ----- command line -------------------------------------------------------

def test_cli_port_file_log_file_and_sigterm(tmp_path):
    port_file, log_file = tmp_path / "port", tmp_path / "api.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(SIM_DIR / "hostup_sim.py"), "--host", "127.0.0.1", "--port", "0",
         "--state", str(SIM_DIR / "default_state.json"), "--port-file", str(port_file),
         "--log-file", str(log_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        port = int(port_file.read_text())
        assert line == "hostup-sim listening on http://127.0.0.1:%d" % port

        class Target:
            url = "http://127.0.0.1:%d" % port
        assert call(Target, "GET", "/api/v2/vps").status == 200
        logged = [json.loads(row) for row in log_file.read_text().splitlines()]
        assert [(e["path"], e["key_name"]) for e in logged] == [("/api/v2/vps", "demo")]
        assert DEMO_KEY not in log_file.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        process.stdout.close()
        process.stderr.close()
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".hostup-sim-port")]


def test_cli_refuses_non_loopback_host():
    result = subprocess.run(
        [sys.executable, str(SIM_DIR / "hostup_sim.py"), "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode != 0
    assert "non-loopback" in result.stderr
    with pytest.raises(ValueError):
        hostup_sim.Simulator(host="192.0.2.1").start()

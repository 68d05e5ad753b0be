# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fault table: every fault the API or the network can throw at every operation, and what must follow.

Each row injects faults into the simulator (real loopback HTTP, no mocks), runs one operation the way
a module's run_task does, and checks three things:

* the outcome: success with the expected ``changed`` and with or without the "the first attempt
  probably did it" warning, or a failure that is a HostupError (never another exception, which
  would reach the user as a traceback) with a one-line message holding the expected fragment;
* the simulator's state afterwards: the number of port 25 requests filed for the VPS (0 or 1, never
  2) and the ticket's status (the one asked for, or the one it had, never a third);
* how many API requests were sent, so a retry that should not happen (or should) is seen.

Waits go through the fake clock of conftest.py: only read timeouts and latency cost real time.
The retry rules are issue 2's: every method on 429 and on connections refused before anything was
sent; GET and the two safe-to-repeat POSTs also on 502/503/504, read timeouts and dropped or cut-off
answers; a retried write that then answers 409 is a change with a warning.
"""

from __future__ import annotations

import collections
import copy
import socket
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupError
from ansible_collections.hostup.cloud.plugins.module_utils._port25 import request_port25_unblock
from ansible_collections.hostup.cloud.plugins.module_utils._tickets import set_ticket_state, ticket_info
from ansible_collections.hostup.cloud.plugins.module_utils._vps import vps_info

DEMO_KEY = "sim-demo-key"
PORT25 = "/api/v2/support/port25-requests"
VPS_LIST = "/api/v2/vps"
TICKETS = "/api/v2/support/tickets"
MAIL01 = "vps_01hmail0000000000000000001"
OPEN_TICKET = "tkt_01hticket00000000000000001"
CLOSED_TICKET = "tkt_01hticket00000000000000002"
REASON = "Transactional mail for example.com; SPF, DKIM and DMARC are set up."
RETRIES = 3

# --- the operations --------------------------------------------------------------------------------
# read / write: the path of the operation's GET and POST (None when it has none); requests: how many
# API requests it sends when nothing goes wrong; done / untouched: the simulator state after it did
# its work / when it did nothing (port 25 requests filed for MAIL01, or the ticket's status).
Operation = collections.namedtuple("Operation", "run read write requests changed done untouched")

OPERATIONS = {
    "port25 by id": Operation(
        run=lambda client: request_port25_unblock(client, REASON, vps_id=MAIL01),
        read=None, write=PORT25, requests=1, changed=True, done=1, untouched=0),
    "port25 by name": Operation(
        run=lambda client: request_port25_unblock(client, REASON, vps_name="mail-01"),
        read=VPS_LIST, write=PORT25, requests=2, changed=True, done=1, untouched=0),
    "ticket close": Operation(
        run=lambda client: set_ticket_state(client, OPEN_TICKET, state="closed"),
        read=TICKETS + "/" + OPEN_TICKET, write=TICKETS + "/" + OPEN_TICKET + "/actions/close",
        requests=2, changed=True, done="closed", untouched="open"),
    "ticket reopen": Operation(
        run=lambda client: set_ticket_state(client, CLOSED_TICKET, state="open"),
        read=TICKETS + "/" + CLOSED_TICKET, write=TICKETS + "/" + CLOSED_TICKET + "/actions/reopen",
        requests=2, changed=True, done="open", untouched="closed"),
    "vps list": Operation(
        run=vps_info, read=VPS_LIST, write=None, requests=1, changed=False, done=None, untouched=None),
    "ticket info": Operation(
        run=lambda client: ticket_info(client, ticket_id=OPEN_TICKET),
        read=TICKETS + "/" + OPEN_TICKET, write=None, requests=1, changed=False, done=None, untouched=None),
}
WRITES = ("port25 by id", "port25 by name", "ticket close", "ticket reopen")
READS = ("port25 by name", "ticket close", "ticket reopen", "vps list", "ticket info")  # ops that GET
TICKET_WRITES = ("ticket close", "ticket reopen")
PORT25_WRITES = ("port25 by id", "port25 by name")
ALL = tuple(OPERATIONS)

# --- outcomes and states ---------------------------------------------------------------------------
# changed None: the operation's usual value; warning None: with or without (a race decides, both are right).
Ok = collections.namedtuple("Ok", "changed warning")
Fail = collections.namedtuple("Fail", "fragment")
OK = Ok(None, False)
OK_WARNED = Ok(True, True)
DONE = "done"            # the operation did its work: one port 25 request / the ticket in the wanted state
UNTOUCHED = "untouched"  # nothing changed on the server

Row = collections.namedtuple("Row", "name op faults outcome after requests client setup sleeps")


def fault(on, **spec):
    """A fault on the operation's GET (``on="read"``), its POST (``"write"``) or its first request."""
    spec["on"] = on
    return spec


def row(name, op, faults, outcome, after, requests, client=None, setup=None, sleeps=None):
    return Row(name, op, faults, outcome, after, requests, client or {}, setup, sleeps)


def first(op):
    return "read" if OPERATIONS[op].read else "write"


def iso_in(seconds):
    when = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (when.microsecond // 1000)


def exactly(*expected):
    return lambda sleeps: sleeps == list(expected)


def between(low, high):
    return lambda sleeps: len(sleeps) == 1 and low <= sleeps[0] <= high


HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
            "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n" + "<!-- padding -->\n" * 30)
HTML_FAIL = "HTTP 502: <html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway"
EXTRA_TICKET_FIELDS = {"escalationLevel": 2, "sla": {"firstResponseDueAt": "2026-06-04T08:00:00.000Z"}}


def rows():
    table = []
    # 429: wait as told (Retry-After; else until X-RateLimit-Reset; else backoff with jitter), on any method.
    for op in ALL:
        table.append(row("429 with Retry-After on the first request", op,
                         [fault(first(op), status=429, headers={"Retry-After": "3"})],
                         OK, DONE, OPERATIONS[op].requests + 1, sleeps=exactly(3.0)))
        table.append(row("429 with only X-RateLimit-Reset", op,
                         [fault(first(op), status=429, headers={"X-RateLimit-Reset": "NOW+6s"})],
                         OK, DONE, OPERATIONS[op].requests + 1, sleeps=between(4.0, 6.0)))
        table.append(row("429 with neither header", op, [fault(first(op), status=429)],
                         OK, DONE, OPERATIONS[op].requests + 1, sleeps=between(0.5, 1.0)))
    for op in ("port25 by name",) + TICKET_WRITES:
        table.append(row("429 with Retry-After on the POST", op,
                         [fault("write", status=429, headers={"Retry-After": "2"})],
                         OK, DONE, OPERATIONS[op].requests + 1, sleeps=exactly(2.0)))

    # 500: never retried. On a GET nothing was written; on a POST with `apply` HostUp did the work.
    for op in READS:
        for apply in (False, True):
            table.append(row("500 on GET%s" % (" (apply)" if apply else ""), op,
                             [fault("read", status=500, apply=apply)],
                             Fail("failed: HTTP 500 internal_error: Injected fault (HTTP 500)."), UNTOUCHED, 1,
                             sleeps=exactly()))
    for op in WRITES:
        table.append(row("500 on POST", op, [fault("write", status=500)],
                         Fail("failed: HTTP 500 internal_error"), UNTOUCHED, OPERATIONS[op].requests,
                         sleeps=exactly()))
        table.append(row("500 on POST (apply)", op, [fault("write", status=500, apply=True)],
                         Fail("failed: HTTP 500 internal_error"), DONE, OPERATIONS[op].requests,
                         sleeps=exactly()))

    # 502/503/504: retried on GET and on the safe-to-repeat POSTs. A POST whose first attempt was applied
    # meets a 409 on the retry: a change, with a warning (port 25), or a re-read of the ticket.
    for status in (502, 503, 504):
        for op in READS:
            for apply in (False, True):
                table.append(row("%d on GET%s" % (status, " (apply)" if apply else ""), op,
                                 [fault("read", status=status, apply=apply)],
                                 OK, DONE, OPERATIONS[op].requests + 1))
        for op in WRITES:
            table.append(row("%d on POST" % status, op, [fault("write", status=status)],
                             OK, DONE, OPERATIONS[op].requests + 1))
            reread = 1 if op in TICKET_WRITES else 0
            table.append(row("%d on POST (apply)" % status, op, [fault("write", status=status, apply=True)],
                             OK_WARNED, DONE, OPERATIONS[op].requests + 1 + reread))
    for op in READS:
        table.append(row("503 on GET beyond api_retries", op, [fault("read", status=503, count=RETRIES + 1)],
                         Fail("failed: HTTP 503 upstream_unavailable"), UNTOUCHED, RETRIES + 1))
    for op in PORT25_WRITES:
        # Every attempt is answered 503 but the first one filed the request: still exactly one filed.
        table.append(row("503 on every POST (apply)", op,
                         [fault("write", status=503, apply=True, count=RETRIES + 1)],
                         Fail("POST %s failed: HTTP 503 upstream_unavailable" % PORT25), DONE,
                         OPERATIONS[op].requests + RETRIES))

    # Read timeout: api_timeout 0.2 s against a 0.45 s answer. The late first POST is still served: after
    # the retry (which then did the work and the late one meets the 409) or, on a busy machine, before it
    # (the retry meets the 409 and warns). Either way: changed, and nothing done twice.
    for op in READS:
        table.append(row("read timeout on GET", op, [fault("read", latency_ms=450)],
                         OK, DONE, OPERATIONS[op].requests + 1, client={"timeout": 0.2}))
    for op in WRITES:
        table.append(row("read timeout on POST", op, [fault("write", latency_ms=450)],
                         Ok(True, None), DONE, OPERATIONS[op].requests + 1, client={"timeout": 0.2}))
    table.append(row("read timeout on every GET", "vps list", [fault("read", latency_ms=450, count=RETRIES + 1)],
                     Fail("no answer from http://127.0.0.1:"), UNTOUCHED, RETRIES + 1, client={"timeout": 0.2}))

    # Connection refused: nothing was sent, so every method is retried, then a clear failure naming the URL.
    for op in ALL:
        table.append(row("connection refused", op, [], Fail("Connection refused"), UNTOUCHED, 0,
                         client={"api_url": "DEAD"}, sleeps=lambda sleeps: len(sleeps) == RETRIES))

    # A connection dropped before any answer, without and with the work done.
    for op in READS:
        table.append(row("connection dropped on GET", op, [fault("read", drop=True)],
                         OK, DONE, OPERATIONS[op].requests + 1))
    for op in WRITES:
        reread = 1 if op in TICKET_WRITES else 0
        table.append(row("connection dropped on POST", op, [fault("write", drop=True)],
                         OK, DONE, OPERATIONS[op].requests + 1))
        table.append(row("connection dropped on POST (apply)", op, [fault("write", drop=True, apply=True)],
                         OK_WARNED, DONE, OPERATIONS[op].requests + 1 + reread))

    # A 200 that is not JSON (a captive portal, a misrouted proxy): a clear failure, not retried.
    for op in READS:
        table.append(row("200 with a non-JSON body on GET", op,
                         [fault("read", status=200, body="<html><body>Welcome to the proxy</body></html>")],
                         Fail("HTTP 200: <html><body>Welcome to the proxy</body></html> (the answer is not JSON)"),
                         UNTOUCHED, 1))
    for op in PORT25_WRITES:
        table.append(row("201 with a non-JSON body on POST (apply)", op,
                         [fault("write", status=201, body="Created", content_type="text/plain", apply=True)],
                         Fail("HTTP 201: Created (the answer is not JSON)"), DONE, OPERATIONS[op].requests))

    # An HTML error page from a proxy: retried like any 502; when it persists, one line with the page's start.
    for op in READS:
        table.append(row("HTML 502 page on GET", op, [fault("read", status=502, body=HTML_502)],
                         OK, DONE, OPERATIONS[op].requests + 1))
        table.append(row("HTML 502 page on every GET", op, [fault("read", status=502, body=HTML_502, count=9)],
                         Fail(HTML_FAIL), UNTOUCHED, RETRIES + 1))
    for op in WRITES:
        table.append(row("HTML 502 page on every POST (apply)", op,
                         [fault("write", status=502, body=HTML_502, count=9, apply=True)],
                         Fail(HTML_FAIL), DONE, OPERATIONS[op].requests + RETRIES))

    # A JSON body cut off mid-way (Content-Length promises more): retried like a dropped connection.
    for op in READS:
        table.append(row("truncated JSON body on GET", op, [fault("read", truncate=True)],
                         OK, DONE, OPERATIONS[op].requests + 1))
    for op in WRITES:
        reread = 1 if op in TICKET_WRITES else 0
        table.append(row("truncated JSON body on POST", op, [fault("write", truncate=True)],
                         OK, DONE, OPERATIONS[op].requests + 1))
        table.append(row("truncated JSON body on POST (apply)", op, [fault("write", truncate=True, apply=True)],
                         OK_WARNED, DONE, OPERATIONS[op].requests + 1 + reread))
    table.append(row("truncated JSON body on every GET", "ticket info", [fault("read", truncate=True, count=9)],
                     Fail("incomplete answer from http://127.0.0.1:"), UNTOUCHED, RETRIES + 1))

    # A ticket status the collection does not know: nothing may be changed; reading it is fine.
    for status in ("unknown", "escalated"):
        for op, ticket in (("ticket close", OPEN_TICKET), ("ticket reopen", CLOSED_TICKET)):
            table.append(row("unknown ticket status %r" % status, op, [],
                             Fail("has status %r, which is neither open nor closed; nothing was changed" % status),
                             status, 1, setup=("ticket status", ticket, status)))
        table.append(row("unknown ticket status %r" % status, "ticket info", [], Ok(False, False), status, 1,
                         setup=("ticket status", OPEN_TICKET, status)))
    table.append(row("unknown port 25 request status in the answer", "port25 by id",
                     [fault("write", status=201, apply=True, content_type="application/json",
                            body={"id": "p25_x", "vpsId": MAIL01, "status": "queued_for_review"})],
                     OK, DONE, 1))

    # Extra fields HostUp may add later: kept (snake_case) and harmless.
    table.append(row("extra unknown fields in the port 25 answer", "port25 by id",
                     [fault("write", status=201, apply=True, content_type="application/json",
                            body={"id": "p25_x", "vpsId": MAIL01, "status": "pending", "reason": REASON,
                                  "queuePosition": 3, "autoApproval": {"eligible": False}})],
                     OK, DONE, 1))
    for op in ("ticket close", "ticket info"):
        table.append(row("extra unknown fields in the ticket", op,
                         [fault("read", status=200, content_type="application/json", body="TICKET+EXTRA")],
                         OK, DONE, OPERATIONS[op].requests))
    for op in ("vps list", "port25 by name"):
        table.append(row("extra unknown fields in the VPS list", op,
                         [fault("read", status=200, content_type="application/json", body="VPS+EXTRA")],
                         OK, DONE, OPERATIONS[op].requests))

    # Optional fields left out: only what is needed to decide must be there.
    table.append(row("missing optional fields in the port 25 answer", "port25 by id",
                     [fault("write", status=201, apply=True, content_type="application/json",
                            body={"id": "p25_x", "status": "pending"})],
                     OK, DONE, 1))
    table.append(row("empty port 25 answer", "port25 by id",
                     [fault("write", status=201, apply=True, content_type="application/json", body="")],
                     OK, DONE, 1))
    for op in ("ticket close", "ticket info"):
        table.append(row("missing optional fields in the ticket", op,
                         [fault("read", status=200, content_type="application/json",
                                body={"id": OPEN_TICKET, "status": "open"})],
                         OK, DONE, OPERATIONS[op].requests))
    table.append(row("empty answer to the ticket action", "ticket close",
                     [fault("write", status=200, apply=True, content_type="application/json", body="")],
                     OK, DONE, 3))
    for op in ("vps list", "port25 by name"):
        table.append(row("missing optional fields in the VPS list", op,
                         [fault("read", status=200, content_type="application/json",
                                body={"data": [{"id": MAIL01, "name": "mail-01"}]})],
                         OK, DONE, OPERATIONS[op].requests))

    # A slow API, still within api_timeout: one request each, no retry, no wait. (0.3 s of margin, so that
    # a busy CI machine does not turn the row into a timeout.)
    for op, faults in (("port25 by id", [fault("write", latency_ms=700)]),
                       ("ticket close", [fault("read", latency_ms=700), fault("write", latency_ms=700)]),
                       ("vps list", [fault("read", latency_ms=700)])):
        table.append(row("slow API (0.7 s of a 1 s api_timeout)", op, faults,
                         OK, DONE, OPERATIONS[op].requests, client={"timeout": 1.0}, sleeps=exactly()))
    return table


ROWS = rows()


def _free_loopback_url():
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return "http://127.0.0.1:%d" % port


def _fault_body(sim, body):
    """Answers with extra fields are built from the simulator's own objects, so only the extras differ."""
    state = sim.state()
    if body == "TICKET+EXTRA":
        ticket = next(t for t in state["tickets"] if t["id"] == OPEN_TICKET)
        return dict(ticket, **EXTRA_TICKET_FIELDS)
    if body == "VPS+EXTRA":
        items = [dict(vps, rescueMode={"enabled": False}, newCamelField=1) for vps in state["vps"]]
        return {"data": items, "nextCursor": None, "totalCount": len(items), "links": {"self": VPS_LIST}}
    return body


def _server_view(state, op):
    """What the row's ``after`` is compared with: requests filed for MAIL01, or the ticket's status."""
    if op in PORT25_WRITES:
        return len([r for r in state["port25_requests"] if r["vpsId"] == MAIL01])
    if op == "ticket close" or op == "ticket info":
        return next(t["status"] for t in state["tickets"] if t["id"] == OPEN_TICKET)
    if op == "ticket reopen":
        return next(t["status"] for t in state["tickets"] if t["id"] == CLOSED_TICKET)
    return None


@pytest.mark.parametrize("case", ROWS, ids=["%s | %s" % (r.name, r.op) for r in ROWS])
def test_fault_row(sim, client, clock, case):
    operation = OPERATIONS[case.op]
    if case.setup:
        _kind, ticket, status = case.setup
        sim.set_ticket_status(ticket, status)
    default_state = sim.state()
    for spec in case.faults:
        spec = dict(spec)
        on = spec.pop("on")
        spec["method"] = "GET" if on == "read" else "POST"
        spec["path"] = operation.read if on == "read" else operation.write
        if "body" in spec:
            spec["body"] = _fault_body(sim, spec["body"])
        if spec.get("headers", {}).get("X-RateLimit-Reset") == "NOW+6s":
            spec["headers"] = {"X-RateLimit-Reset": iso_in(6)}
        sim.fault(**spec)
    options = dict(retries=RETRIES)
    options.update(case.client)
    if options.get("api_url") == "DEAD":
        options["api_url"] = _free_loopback_url()

    outcome = error = None
    try:
        outcome = operation.run(client(**options))
    except HostupError as exc:  # any other exception fails the row: it would be a traceback for the user
        error = exc

    # A late answer (read timeout) is logged once its latency has passed: wait for it before judging.
    log = sim.wait_for_log(case.requests, timeout=3.0) if case.requests else sim.log()
    state = sim.state()

    if isinstance(case.outcome, Fail):
        assert outcome is None, "expected a failure, got %r" % (outcome,)
        message = str(error)
        assert case.outcome.fragment in message, message
        assert "\n" not in message and "Traceback" not in message and DEMO_KEY not in message, message
        assert len(message) < 600, message
    else:
        assert error is None, "expected success, got: %s" % error
        expected_changed = operation.changed if case.outcome.changed is None else case.outcome.changed
        assert outcome["changed"] is expected_changed, outcome
        warnings = outcome.get("warnings") or []
        if case.outcome.warning is not None:
            assert bool(warnings) is case.outcome.warning, warnings
        for warning in warnings:
            assert "probably" in warning and "\n" not in warning
        _check_result(case, outcome)

    # The server: the expected state, never a second port 25 request, never a status nobody asked for.
    if case.after == DONE:
        expected = operation.done
    elif case.after == UNTOUCHED:
        expected = operation.untouched
    else:
        expected = case.after
    if operation.done is None and case.after in (DONE, UNTOUCHED):
        assert state["port25_requests"] == default_state["port25_requests"]
        assert state["tickets"] == default_state["tickets"]
    else:
        assert _server_view(state, case.op) == expected
    others = copy.deepcopy(state)
    baseline = copy.deepcopy(default_state)
    for snapshot in (others, baseline):
        snapshot["tickets"] = [t for t in snapshot["tickets"] if t["id"] not in (OPEN_TICKET, CLOSED_TICKET)]
        snapshot["port25_requests"] = [r for r in snapshot["port25_requests"] if r["vpsId"] != MAIL01]
    assert others == baseline, "something else changed on the server"

    assert len(log) == case.requests, [(e["method"], e["path"], e["status"]) for e in log]
    if case.sleeps is not None:
        assert case.sleeps(clock.sleeps), clock.sleeps


def _check_result(case, outcome):
    """The returned object still says what it is about, whatever shape the answer had."""
    if case.op in PORT25_WRITES:
        record = outcome["port25_request"]
        assert record["vps_id"] == MAIL01 and record["reason"] in (REASON, None)
        assert record["status"] in ("pending", "queued_for_review")
        if "extra unknown fields in the port 25" in case.name:
            assert record["queue_position"] == 3 and record["auto_approval"] == {"eligible": False}
    elif case.op in TICKET_WRITES or case.op == "ticket info":
        ticket = outcome["ticket"] if "ticket" in outcome else outcome["tickets"][0]
        assert ticket["id"] in (OPEN_TICKET, CLOSED_TICKET)
        if "extra unknown fields" in case.name and case.op == "ticket info":
            assert ticket["escalation_level"] == 2
            assert ticket["sla"] == {"first_response_due_at": "2026-06-04T08:00:00.000Z"}
    elif case.op == "vps list":
        assert all(vps["id"].startswith("vps_") for vps in outcome["vps"])
        if "extra unknown fields" in case.name:
            assert all(vps["new_camel_field"] == 1 for vps in outcome["vps"])

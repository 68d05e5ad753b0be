# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fault table: every fault the API or the network can throw at every operation, and what must follow.

Each row injects faults into the simulator (real loopback HTTP, no mocks), runs one operation the way
a module's run_task does, and checks three things:

* the outcome: success with the expected ``changed`` and with or without the "the first attempt
  probably did it" warning, or a failure that is a HostupError (never another exception, which
  would reach the user as a traceback) with a one-line message holding the expected fragments,
  without control characters and without any 8-character piece of the API key;
* the simulator's state afterwards: the number of port 25 requests filed for the VPS (0 or 1, never
  2) and the ticket's status (the one asked for, or the one it had, never a third);
* how many API requests were sent, so a retry that should not happen (or should) is seen.

A row carries everything that is particular to it: fault fields that depend on the simulator's
state are callables taking that state (``body``, ``headers``), ``client`` gives HostupClient
options (a dict, or a callable taking the simulator), ``setup`` prepares the simulator, ``check``
makes extra assertions on the result (or on the error of a failing row) and ``within`` bounds the
row's real time. The test itself never looks at a row's name.

Waits go through the fake clock of conftest.py: only timeouts, trickled answers and latency cost
real time. The retry rules: every method on 429 and on connections refused before anything was
sent; GET and the two safe-to-repeat POSTs also on 502/503/504, timeouts and dropped or cut-off
answers; a retried write that then answers 409 is a change with a warning. Redirects are never
followed and never retried; malformed or endless lists fail on one line.
"""

from __future__ import annotations

import collections
import copy
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupError
from ansible_collections.hostup.cloud.plugins.module_utils._port25 import request_port25_unblock
from ansible_collections.hostup.cloud.plugins.module_utils._tickets import set_ticket_state, ticket_info
from ansible_collections.hostup.cloud.plugins.module_utils._vps import vps_info

DEMO_KEY = "sim-demo-key"
MASK = "********"
PORT25 = "/api/v2/support/port25-requests"
VPS_LIST = "/api/v2/vps"
TICKETS = "/api/v2/support/tickets"
MAIL01 = "vps_01hmail0000000000000000001"
OPEN_TICKET = "tkt_01hticket00000000000000001"
CLOSED_TICKET = "tkt_01hticket00000000000000002"
REASON = "Transactional mail for example.com; SPF, DKIM and DMARC are set up."
RETRIES = 3


def _port25_filed(state):
    return len([r for r in state["port25_requests"] if r["vpsId"] == MAIL01])


def _ticket_status(ticket_id):
    return lambda state: next(t["status"] for t in state["tickets"] if t["id"] == ticket_id)


def _port25_result(outcome):
    record = outcome["port25_request"]
    assert record["vps_id"] == MAIL01 and record["reason"] in (REASON, None)
    assert record["status"] in ("pending", "queued_for_review")


def _ticket_result(outcome):
    ticket = outcome["ticket"] if "ticket" in outcome else outcome["tickets"][0]
    assert ticket["id"] in (OPEN_TICKET, CLOSED_TICKET)


def _vps_result(outcome):
    assert all(vps["id"].startswith("vps_") for vps in outcome["vps"])


def _ticket_list_result(outcome):
    assert outcome["tickets"] and all(isinstance(t, dict) and t.get("status") for t in outcome["tickets"])


# --- the operations --------------------------------------------------------------------------------
# read / write: the path of the operation's GET and POST (None when it has none); requests: how many
# API requests it sends when nothing goes wrong; done / untouched: the simulator state after it did
# its work / when it did nothing (port 25 requests filed for MAIL01, or the ticket's status); view:
# that state read from the simulator's (None for a read-only operation: then nothing may change);
# result: what every successful result must still say, whatever shape the answer had.
Operation = collections.namedtuple("Operation", "run read write requests changed done untouched view result")

OPERATIONS = {
    "port25 by id": Operation(
        run=lambda client: request_port25_unblock(client, REASON, vps_id=MAIL01),
        read=None, write=PORT25, requests=1, changed=True, done=1, untouched=0,
        view=_port25_filed, result=_port25_result),
    "port25 by name": Operation(
        run=lambda client: request_port25_unblock(client, REASON, vps_name="mail-01"),
        read=VPS_LIST, write=PORT25, requests=2, changed=True, done=1, untouched=0,
        view=_port25_filed, result=_port25_result),
    "ticket close": Operation(
        run=lambda client: set_ticket_state(client, OPEN_TICKET, state="closed"),
        read=TICKETS + "/" + OPEN_TICKET, write=TICKETS + "/" + OPEN_TICKET + "/actions/close",
        requests=2, changed=True, done="closed", untouched="open",
        view=_ticket_status(OPEN_TICKET), result=_ticket_result),
    "ticket reopen": Operation(
        run=lambda client: set_ticket_state(client, CLOSED_TICKET, state="open"),
        read=TICKETS + "/" + CLOSED_TICKET, write=TICKETS + "/" + CLOSED_TICKET + "/actions/reopen",
        requests=2, changed=True, done="open", untouched="closed",
        view=_ticket_status(CLOSED_TICKET), result=_ticket_result),
    "vps list": Operation(
        run=vps_info, read=VPS_LIST, write=None, requests=1, changed=False, done=None, untouched=None,
        view=None, result=_vps_result),
    "ticket info": Operation(
        run=lambda client: ticket_info(client, ticket_id=OPEN_TICKET),
        read=TICKETS + "/" + OPEN_TICKET, write=None, requests=1, changed=False, done=None, untouched=None,
        view=_ticket_status(OPEN_TICKET), result=_ticket_result),
    "ticket list": Operation(
        run=ticket_info, read=TICKETS, write=None, requests=1, changed=False, done=None, untouched=None,
        view=None, result=_ticket_list_result),
}
WRITES = ("port25 by id", "port25 by name", "ticket close", "ticket reopen")
READS = ("port25 by name", "ticket close", "ticket reopen", "vps list", "ticket info")  # ops that GET
LISTS = ("vps list", "port25 by name", "ticket list")  # ops that read a paginated list
TICKET_WRITES = ("ticket close", "ticket reopen")
PORT25_WRITES = ("port25 by id", "port25 by name")
ALL = tuple(OPERATIONS)

# --- outcomes and states ---------------------------------------------------------------------------
# changed None: the operation's usual value; warning None: with or without (a race decides, both are right).
Ok = collections.namedtuple("Ok", "changed warning")
Fail = collections.namedtuple("Fail", "fragments")
OK = Ok(None, False)
OK_WARNED = Ok(True, True)
DONE = "done"            # the operation did its work: one port 25 request / the ticket in the wanted state
UNTOUCHED = "untouched"  # nothing changed on the server

Row = collections.namedtuple("Row", "name op faults outcome after requests client setup sleeps check within")


def fail(*fragments):
    """A failure whose message holds every one of ``fragments``."""
    return Fail(fragments)


def fault(on, **spec):
    """A fault on the operation's GET (``on="read"``), its POST (``"write"``) or its first request.

    A field given as a callable is called with the simulator's state when the row runs.
    """
    spec["on"] = on
    return spec


def row(name, op, faults, outcome, after, requests, client=None, setup=None, sleeps=None, check=None,
        within=None):
    """One row. ``client``: HostupClient options, or a callable taking the simulator that returns them;
    ``setup``: a callable taking the simulator, run before the faults are queued; ``sleeps``: a predicate
    on the fake clock's sleeps; ``check``: extra assertions, called with the result of a successful row or
    the HostupError of a failing one; ``within``: the most real seconds the operation may take."""
    return Row(name, op, faults, outcome, after, requests, client or {}, setup, sleeps, check, within)


def first(op):
    return "read" if OPERATIONS[op].read else "write"


def iso_in(seconds):
    when = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (when.microsecond // 1000)


def exactly(*expected):
    return lambda sleeps: sleeps == list(expected)


def between(low, high):
    return lambda sleeps: len(sleeps) == 1 and low <= sleeps[0] <= high


def key_pieces(key=DEMO_KEY, size=8):
    """Every run of ``size`` characters of the key: none of them may be visible anywhere."""
    return [key[start:start + size] for start in range(len(key) - size + 1)]


def _free_loopback_url():
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return "http://127.0.0.1:%d" % port


def _dead_api_url(sim):
    return {"api_url": _free_loopback_url()}


def _set_ticket_status(ticket, status):
    return lambda sim: sim.set_ticket_status(ticket, status)


def _ticket_from_state(ticket_id, **extra):
    """A body builder: the ticket as the simulator holds it, with ``extra`` fields added."""
    return lambda state: dict(next(t for t in state["tickets"] if t["id"] == ticket_id), **extra)


def _vps_page_with(**extra):
    """A body builder: the simulator's whole VPS list as one page, every item with ``extra`` fields added."""
    def build(state):
        items = [dict(vps, **extra) for vps in state["vps"]]
        return {"data": items, "nextCursor": None, "totalCount": len(items), "links": {"self": VPS_LIST}}
    return build


def _reset_in(seconds):
    """A headers builder: X-RateLimit-Reset that many seconds after the row starts."""
    return lambda state: {"X-RateLimit-Reset": iso_in(seconds)}


HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
            "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n" + "<!-- padding -->\n" * 30)
HTML_FAIL = "HTTP 502: <html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway"
EXTRA_TICKET_FIELDS = {"escalationLevel": 2, "sla": {"firstResponseDueAt": "2026-06-04T08:00:00.000Z"}}

# The hostile faults: redirects, answers slower than api_timeout, broken lists, keys and escapes in server text.
REDIRECTS = (301, 302, 303, 307, 308)
ELSEWHERE = "/api/v2/elsewhere"
NOT_FOLLOWED = "(redirect to %s, not followed)" % ELSEWHERE
# api_timeout 1 s and one retry: an attempt ends 1.25 s after it started, so a row stays under ~4 s.
SHORT = {"timeout": 1, "retries": 1}
PER_ATTEMPT = 1.5  # real seconds one timed-out attempt may take, the deadline's grace and a busy machine included
TRICKLED_BODY = {"part": "body", "chunk_bytes": 1, "interval_ms": 500, "length": 600}
TRICKLED_HEADERS = {"part": "headers", "chunk_bytes": 1, "interval_ms": 500}
SLOW_HEADERS_MS = 3000
DEADLINE = ("no complete answer from http://127.0.0.1:", "within 1s (api_timeout bounds each attempt end to end)")
READ_TIMEOUT = ("no answer from http://127.0.0.1:", "within 1s (api_timeout)")
CUT_JSON = '{"data": [{"id": "vps_'
ESCAPED_DETAIL = "\x1b[2J\nok: [host]\r\nPLAY RECAP"
ESCAPED_TITLE = "\x1b[31mfailed\r\nok: [host]"
KEY_WITH_COMMENT = DEMO_KEY + "\n# the laptop's key"


def _within(attempts):
    return attempts * PER_ATTEMPT + 0.5


def _check_raw_escapes(error):
    """The message shows the escapes as text; api_error keeps HostUp's own text, escapes and all."""
    api_error = error.to_result()["api_error"]
    assert api_error["detail"] == ESCAPED_DETAIL and api_error["title"] == ESCAPED_TITLE, api_error


def _extra_port25_fields_kept(outcome):
    record = outcome["port25_request"]
    assert record["queue_position"] == 3 and record["auto_approval"] == {"eligible": False}, record


def _extra_ticket_fields_kept(outcome):
    ticket = outcome["tickets"][0]
    assert ticket["escalation_level"] == 2, ticket
    assert ticket["sla"] == {"first_response_due_at": "2026-06-04T08:00:00.000Z"}, ticket


def _extra_vps_fields_kept(outcome):
    assert all(vps["new_camel_field"] == 1 for vps in outcome["vps"]), outcome["vps"]


def _check_key_never_quoted(error):
    assert "laptop" not in str(error) and "#" not in str(error), str(error)


def rows():
    table = []
    # 429: wait as told (Retry-After; else until X-RateLimit-Reset; else backoff with jitter), on any method.
    for op in ALL:
        table.append(row("429 with Retry-After on the first request", op,
                         [fault(first(op), status=429, headers={"Retry-After": "3"})],
                         OK, DONE, OPERATIONS[op].requests + 1, sleeps=exactly(3.0)))
        table.append(row("429 with only X-RateLimit-Reset", op,
                         [fault(first(op), status=429, headers=_reset_in(6))],
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
                             fail("failed: HTTP 500 internal_error: Injected fault (HTTP 500)."), UNTOUCHED, 1,
                             sleeps=exactly()))
    for op in WRITES:
        table.append(row("500 on POST", op, [fault("write", status=500)],
                         fail("failed: HTTP 500 internal_error"), UNTOUCHED, OPERATIONS[op].requests,
                         sleeps=exactly()))
        table.append(row("500 on POST (apply)", op, [fault("write", status=500, apply=True)],
                         fail("failed: HTTP 500 internal_error"), DONE, OPERATIONS[op].requests,
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
                         fail("failed: HTTP 503 upstream_unavailable"), UNTOUCHED, RETRIES + 1))
    for op in PORT25_WRITES:
        # Every attempt is answered 503 but the first one filed the request: still exactly one filed.
        table.append(row("503 on every POST (apply)", op,
                         [fault("write", status=503, apply=True, count=RETRIES + 1)],
                         fail("POST %s failed: HTTP 503 upstream_unavailable" % PORT25), DONE,
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
                     fail("no answer from http://127.0.0.1:"), UNTOUCHED, RETRIES + 1, client={"timeout": 0.2}))

    # Connection refused: nothing was sent, so every method is retried, then a clear failure naming the URL.
    for op in ALL:
        table.append(row("connection refused", op, [], fail("Connection refused"), UNTOUCHED, 0,
                         client=_dead_api_url, sleeps=lambda sleeps: len(sleeps) == RETRIES))

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
                         fail("HTTP 200: <html><body>Welcome to the proxy</body></html> (the answer is not JSON)"),
                         UNTOUCHED, 1))
    for op in PORT25_WRITES:
        table.append(row("201 with a non-JSON body on POST (apply)", op,
                         [fault("write", status=201, body="Created", content_type="text/plain", apply=True)],
                         fail("HTTP 201: Created (the answer is not JSON)"), DONE, OPERATIONS[op].requests))

    # An HTML error page from a proxy: retried like any 502; when it persists, one line with the page's start.
    for op in READS:
        table.append(row("HTML 502 page on GET", op, [fault("read", status=502, body=HTML_502)],
                         OK, DONE, OPERATIONS[op].requests + 1))
        table.append(row("HTML 502 page on every GET", op, [fault("read", status=502, body=HTML_502, count=9)],
                         fail(HTML_FAIL), UNTOUCHED, RETRIES + 1))
    for op in WRITES:
        table.append(row("HTML 502 page on every POST (apply)", op,
                         [fault("write", status=502, body=HTML_502, count=9, apply=True)],
                         fail(HTML_FAIL), DONE, OPERATIONS[op].requests + RETRIES))

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
                     fail("incomplete answer from http://127.0.0.1:"), UNTOUCHED, RETRIES + 1))

    # A ticket status the collection does not know: nothing may be changed; reading it is fine.
    for status in ("unknown", "escalated"):
        for op, ticket in (("ticket close", OPEN_TICKET), ("ticket reopen", CLOSED_TICKET)):
            table.append(row("unknown ticket status %r" % status, op, [],
                             fail("has status %r, which is neither open nor closed; nothing was changed" % status),
                             status, 1, setup=_set_ticket_status(ticket, status)))
        table.append(row("unknown ticket status %r" % status, "ticket info", [], Ok(False, False), status, 1,
                         setup=_set_ticket_status(OPEN_TICKET, status)))
    table.append(row("unknown port 25 request status in the answer", "port25 by id",
                     [fault("write", status=201, apply=True, content_type="application/json",
                            body={"id": "p25_x", "vpsId": MAIL01, "status": "queued_for_review"})],
                     OK, DONE, 1))

    # Extra fields HostUp may add later: kept (snake_case) and harmless.
    table.append(row("extra unknown fields in the port 25 answer", "port25 by id",
                     [fault("write", status=201, apply=True, content_type="application/json",
                            body={"id": "p25_x", "vpsId": MAIL01, "status": "pending", "reason": REASON,
                                  "queuePosition": 3, "autoApproval": {"eligible": False}})],
                     OK, DONE, 1, check=_extra_port25_fields_kept))
    # The answers are the simulator's own objects, so only the extras differ.
    for op, check in (("ticket close", None), ("ticket info", _extra_ticket_fields_kept)):
        table.append(row("extra unknown fields in the ticket", op,
                         [fault("read", status=200, content_type="application/json",
                                body=_ticket_from_state(OPEN_TICKET, **EXTRA_TICKET_FIELDS))],
                         OK, DONE, OPERATIONS[op].requests, check=check))
    for op, check in (("vps list", _extra_vps_fields_kept), ("port25 by name", None)):
        table.append(row("extra unknown fields in the VPS list", op,
                         [fault("read", status=200, content_type="application/json",
                                body=_vps_page_with(rescueMode={"enabled": False}, newCamelField=1))],
                         OK, DONE, OPERATIONS[op].requests, check=check))

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
    table.extend(hostile_rows())
    return table


def hostile_rows():
    """Redirects, answers slower than api_timeout, broken lists, keys and escapes in what the server says."""
    table = []
    # A redirect before the work: a failure naming the status and the Location, which is never followed
    # (a followed relative Location would show in the log as a second request) and never retried.
    for op in ALL:
        for status in REDIRECTS:
            table.append(row("%d before the work on the first request" % status, op,
                             [fault(first(op), status=status, location=ELSEWHERE)],
                             fail("HTTP %d" % status, NOT_FOLLOWED), UNTOUCHED, 1, sleeps=exactly()))
    for op in ("port25 by name",) + TICKET_WRITES:
        table.append(row("307 before the work on the POST", op, [fault("write", status=307, location=ELSEWHERE)],
                         fail("POST ", "HTTP 307", NOT_FOLLOWED), UNTOUCHED, OPERATIONS[op].requests))
    # A redirect after the work: HostUp filed the request / closed or reopened the ticket, and the task fails
    # anyway (a redirect is no answer to a write). The state is the one asked for; a run again settles it.
    for op in WRITES:
        for status in (302, 308):
            table.append(row("%d after the work on the POST" % status, op,
                             [fault("write", status=status, location=ELSEWHERE, apply=True)],
                             fail("POST ", "HTTP %d" % status, NOT_FOLLOWED), DONE, OPERATIONS[op].requests,
                             sleeps=exactly()))
    table.append(row("redirect whose Location holds the key", "vps list",
                     [fault("read", status=302, location="http://192.0.2.80/login?key=" + DEMO_KEY)],
                     fail("(redirect to http://192.0.2.80/login?key=%s, not followed)" % MASK), UNTOUCHED, 1))

    # Slower than api_timeout (1 s, one retry): a body trickled a byte every 0.5 s, headers trickled the same
    # way, or headers held back 3 s. Each attempt ends by its deadline (api_timeout + 0.25 s) or by the read
    # timeout; a GET is tried twice, then fails.
    for op in READS + ("ticket list",):
        table.append(row("trickled body on every GET", op, [fault("read", trickle=TRICKLED_BODY, count=2)],
                         fail(*DEADLINE), UNTOUCHED, 2, client=SHORT, within=_within(2)))
        table.append(row("slow headers on every GET", op, [fault("read", headers_delay_ms=SLOW_HEADERS_MS, count=2)],
                         fail(*READ_TIMEOUT), UNTOUCHED, 2, client=SHORT, within=_within(2)))
    for op in ("vps list", "ticket info", "ticket close"):
        table.append(row("trickled headers on every GET", op, [fault("read", trickle=TRICKLED_HEADERS, count=2)],
                         fail(*DEADLINE), UNTOUCHED, 2, client=SHORT, within=_within(2)))
    for op in ("vps list", "port25 by name"):
        table.append(row("trickled body on the first GET", op, [fault("read", trickle=TRICKLED_BODY)],
                         OK, DONE, OPERATIONS[op].requests + 1, client=SHORT, within=_within(1)))
    # On a write the server did the work before it trickled (or held back) its answer: the retry meets the
    # 409, so the task reports a change with the warning; when the 409 trickles too, the task fails with
    # the work done.
    for op in WRITES:
        reread = 1 if op in TICKET_WRITES else 0
        table.append(row("trickled body on the POST", op, [fault("write", trickle=TRICKLED_BODY)],
                         OK_WARNED, DONE, OPERATIONS[op].requests + 1 + reread, client=SHORT, within=_within(1)))
        table.append(row("slow headers on the POST", op, [fault("write", headers_delay_ms=SLOW_HEADERS_MS)],
                         OK_WARNED, DONE, OPERATIONS[op].requests + 1 + reread, client=SHORT, within=_within(1)))
        table.append(row("trickled body on every POST", op, [fault("write", trickle=TRICKLED_BODY, count=2)],
                         fail("POST ", *DEADLINE), DONE, OPERATIONS[op].requests + 1, client=SHORT,
                         within=_within(2)))
    table.append(row("trickled headers on the POST", "port25 by id", [fault("write", trickle=TRICKLED_HEADERS)],
                     OK_WARNED, DONE, 2, client=SHORT, within=_within(1)))

    # A list that never ends: cut off after 1,000 pages, i.e. 1,000 requests, in acceptable time.
    for op in LISTS:
        table.append(row("endless list", op, [fault("read", list="endless", persist=True)],
                         fail("GET %s failed" % OPERATIONS[op].read, "the list did not end after 1000 pages"),
                         UNTOUCHED, 1000, within=10.0))
    # Malformed list pages: one line saying what is wrong, after one request, nothing retried or filed.
    for op in LISTS:
        for mode, fragment in (("cursor_object", "nextCursor is a dict, not a string"),
                               ("items_not_objects", "item 1 of page 1 is a int, not an object"),
                               ("data_not_list", "the answer has no data list")):
            table.append(row("list page with %s" % mode.replace("_", " "), op, [fault("read", list=mode)],
                             fail("GET %s failed: HTTP 200 (%s)" % (OPERATIONS[op].read, fragment)), UNTOUCHED, 1,
                             sleeps=exactly()))
    for op in LISTS:
        table.append(row("list page with items without id", op, [fault("read", list="items_without_id")],
                         fail("GET %s failed: HTTP 200 (item 1 of page 1 has no id)" % OPERATIONS[op].read),
                         UNTOUCHED, 1))

    # JSON cut off in a 200 (or 201) answer: not retried; on a write the work was done.
    for op in READS + ("ticket list",):
        table.append(row("malformed JSON in a 200 on GET", op,
                         [fault("read", status=200, content_type="application/json", body=CUT_JSON)],
                         fail("HTTP 200: %s (the answer is not JSON)" % CUT_JSON), UNTOUCHED, 1))
    for op in WRITES:
        status = 201 if op in PORT25_WRITES else 200
        table.append(row("malformed JSON in a %d on POST (apply)" % status, op,
                         [fault("write", status=status, content_type="application/json", body=CUT_JSON, apply=True)],
                         fail("POST ", "HTTP %d: %s (the answer is not JSON)" % (status, CUT_JSON)), DONE,
                         OPERATIONS[op].requests))
    # A ticket action answered 200 with the ticket unchanged (a proxy's copy, work not done): not a success.
    for op, ticket, status, wanted in (("ticket close", OPEN_TICKET, "open", "closed"),
                                       ("ticket reopen", CLOSED_TICKET, "closed", "open")):
        table.append(row("200 to the ticket action with the ticket unchanged", op,
                         [fault("write", status=200, content_type="application/json",
                                body=_ticket_from_state(ticket))],
                         fail("HostUp answered, but the ticket is %s, not %s" % (status, wanted)), UNTOUCHED, 2))

    # The key echoed by the server: masked in the message and in api_error, no 8 characters of it left.
    for op in ALL:
        table.append(row("key echoed in the problem detail", op, [fault(first(op), echo_key="detail")],
                         fail("HTTP 401 unauthorized: Authentication failed. The API key %s was refused." % MASK),
                         UNTOUCHED, 1))
        # A 502 page of ~300 characters with the key at character 190: the 200-character excerpt would cut it.
        table.append(row("key in a 300-character HTML 502 page, every attempt", op,
                         [fault(first(op), echo_key="html", count=9)],
                         fail("HTTP 502: <!DOCTYPE html>", "the API key ....", MASK), UNTOUCHED, RETRIES + 1))
    # Terminal escapes and line breaks in detail and title: escaped in the message, kept in api_error.
    for op in ALL:
        table.append(row("terminal escapes in the problem detail and title", op,
                         [fault(first(op), status=500, detail=ESCAPED_DETAIL, title=ESCAPED_TITLE)],
                         fail("HTTP 500 internal_error: \\x1b[2J\\x0aok: [host]\\x0d\\x0aPLAY RECAP"), UNTOUCHED, 1,
                         check=_check_raw_escapes))
    # A key pasted with a line break: refused before any request, and never quoted.
    for op in ALL:
        table.append(row("key with a line break", op, [], fail("api_key contains a line break"), UNTOUCHED, 0,
                         client={"api_key": KEY_WITH_COMMENT}, check=_check_key_never_quoted))
    return table


ROWS = rows()


def _queue(sim, operation, spec, state):
    """Queue one row fault on the operation's GET or POST, with its callable fields built from ``state``."""
    spec = dict((name, value(state) if callable(value) else value) for name, value in spec.items())
    on = spec.pop("on")
    spec["method"] = "GET" if on == "read" else "POST"
    spec["path"] = operation.read if on == "read" else operation.write
    sim.fault(**spec)


@pytest.mark.parametrize("case", ROWS, ids=["%s | %s" % (r.name, r.op) for r in ROWS])
def test_fault_row(sim, client, clock, case):
    operation = OPERATIONS[case.op]
    if case.setup is not None:
        case.setup(sim)
    default_state = sim.state()
    for spec in case.faults:
        _queue(sim, operation, spec, default_state)
    options = dict(retries=RETRIES)
    options.update(case.client(sim) if callable(case.client) else case.client)

    outcome = error = None
    started = time.monotonic()
    try:
        outcome = operation.run(client(**options))
    except HostupError as exc:  # any other exception fails the row: it would be a traceback for the user
        error = exc
    elapsed = time.monotonic() - started

    # A late answer (read timeout) is logged once its latency has passed: wait for it before judging.
    log = sim.wait_for_log(case.requests, timeout=3.0) if case.requests else sim.log()
    state = sim.state()

    if isinstance(case.outcome, Fail):
        assert outcome is None, "expected a failure, got %r" % (outcome,)
        message = str(error)
        for fragment in case.outcome.fragments:
            assert fragment in message, message
        assert not any(char in message for char in "\x1b\r\n"), repr(message)
        assert "Traceback" not in message and len(message) < 600, message
        # Neither the message nor the result's api_error shows the key, nor any 8 characters of it.
        shown = message + repr(error.to_result())
        assert not [piece for piece in key_pieces() if piece in shown], shown
        if case.check is not None:
            case.check(error)
    else:
        assert error is None, "expected success, got: %s" % error
        expected_changed = operation.changed if case.outcome.changed is None else case.outcome.changed
        assert outcome["changed"] is expected_changed, outcome
        warnings = outcome.get("warnings") or []
        if case.outcome.warning is not None:
            assert bool(warnings) is case.outcome.warning, warnings
        for warning in warnings:
            assert "probably" in warning and "\n" not in warning
        # The returned object still says what it is about, whatever shape the answer had.
        operation.result(outcome)
        if case.check is not None:
            case.check(outcome)

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
        assert operation.view(state) == expected
    others = copy.deepcopy(state)
    baseline = copy.deepcopy(default_state)
    for snapshot in (others, baseline):
        snapshot["tickets"] = [t for t in snapshot["tickets"] if t["id"] not in (OPEN_TICKET, CLOSED_TICKET)]
        snapshot["port25_requests"] = [r for r in snapshot["port25_requests"] if r["vpsId"] != MAIL01]
    assert others == baseline, "something else changed on the server"

    assert len(log) == case.requests, [(e["method"], e["path"], e["status"]) for e in log]
    if case.sleeps is not None:
        assert case.sleeps(clock.sleeps), clock.sleeps
    if case.within is not None:
        assert elapsed < case.within, "took %.2f s, more than %.1f s" % (elapsed, case.within)

"""Stateful simulator of the HostUp v2 REST API, for tests and benchmarks.

The collection's modules talk to ``https://cloud.hostup.se/api/v2``.  Tests
cannot use the real service (it files real port 25 requests and closes real
tickets), so this module serves a small, in-memory copy of the parts of the
API the collection uses, plus an unauthenticated ``/_sim/`` admin API that
lets tests arrange state, inject faults and read a request log.

Only the Python standard library is used, so the simulator runs anywhere the
tests run (Python >= 3.9).  It can be started from the command line::

    python tests/simulator/hostup_sim.py --host 127.0.0.1 --port 0 \\
        --state tests/simulator/default_state.json --port-file /tmp/port

or in-process::

    with Simulator(state="default_state.json") as sim:
        urllib.request.urlopen(sim.url + "/api/v2/vps")

The behaviour follows the API facts in docs/api.md; where HostUp's public
documentation is silent, the project's decisions are implemented (error
codes such as ``port25_request_pending`` or ``ticket_already_closed``).

Faults
------
``POST /_sim/faults`` queues one fault (a JSON object) or several (an
array); ``GET`` lists them, ``DELETE`` clears them, ``POST /_sim/reset``
clears them too.  An /api/ request takes one use of the oldest fault whose
``method`` (default ``*``) and ``path`` match (a path ending in ``*`` is a
prefix).  A fault is used ``count`` times (default 1), or until cleared
when ``persist`` is true.  Its fields, all optional::

    status          answer with this status instead of the real answer: a
                    problem document (``code``, ``detail``, ``title`` set its
                    fields), or ``body`` (a string sent as is, or JSON) with
                    ``content_type`` (default text/html)
    apply           with status/location: do the real work first, then answer
                    with the fault; without it nothing changes
    headers         extra headers on the answer (real or fault)
    location        a redirect: ``Location`` header and a short HTML page;
                    status 301, 302 (default), 303, 307 or 308
    latency_ms      wait before doing anything (the work happens afterwards)
    headers_delay_ms  do the work and log it at once, then hold the status
                    line back this long ("slow headers")
    trickle         {"part": "body"|"headers"|"all", "chunk_bytes": n,
                    "interval_ms": t, "length": n}: send that part of the
                    answer n bytes at a time, the first chunk at once, then
                    one every t ms; the body is padded with spaces to
                    ``length`` bytes (never cut)
    drop            close the connection without an answer
    truncate        send half the body (of the fault answer, or of the real
                    answer computed on a throwaway copy of the state), close
    list            rework a 2xx list page (GET /api/v2/vps,
                    GET /api/v2/support/tickets), one mode or an array:
                    "endless" (nextCursor always a fresh cursor; past the end
                    the first page again), "cursor_object" (nextCursor is
                    {"offset": n}), "items_without_id", "items_not_objects"
                    (data is [1, 2, ...]), "data_not_list" (data is an object
                    keyed by id)
    echo_key        the caller's key as sent (trimmed) in the answer:
                    "detail" (problem detail, default status 401), "html" (an
                    HTML page, default status 502, the key at character 190
                    so a 200-character excerpt cuts it), "data" (the real 2xx
                    answer: key appended to name/subject/vpsName, added to
                    tags, set as operatingSystem.displayName)

``list`` and ``echo_key: data`` rework the real answer, so they take no
``status`` or ``location``; error answers pass through unchanged.
Terminal escapes and line breaks in server text are plain ``detail`` and
``title`` strings, e.g. ``{"status": 500, "detail": "\\u001b[2J\\nok: [host]"}``.
docs/simulator.md has a table with JSON and ``curl`` examples.

Port 25 state (legacy endpoint)
-------------------------------
``GET /api/port25/requests`` answers as docs/api.md describes HostUp's
legacy endpoint: ``{"success", "timestamp", "requestId", "data": {"requests":
[...], "whitelist": [...]}}``.  It takes the key as ``X-API-Key`` (accepted on
unversioned /api/ paths only) or as a bearer token, and needs no scope.  The
requests are the ones the v2 POST filed, in the legacy shape: integer ``id``
(4101 for the first, in filing order), numeric ``serviceId``, ``serviceName``,
``ipAddress`` with ``/32``, ``justification`` (the reason), ``status``,
``decisionReason``, ``autoApproved``, ``createdAt``, ``updatedAt`` and the
other documented fields.  An approval adds the address to ``whitelist``; a
whitelisted address makes the v2 POST answer 409 ``port25_request_exists``.
Admin routes::

    POST /_sim/port25/<p25_ id or legacy id>/approve|reject  {"reason": "..."} (optional)
    PUT  /_sim/port25/auto_decide  {"after_seconds": 2, "decision": "approve", "reason": "..."}
                                   or {"after_reads": 1, ...}; {} or null turns it off
    POST /_sim/port25/whitelist    {"ip_address": "192.0.2.11", "notes": "..."}

``after_seconds`` decides a pending request that long after it was filed (or
after the setting, if later); ``after_reads`` once the legacy endpoint has
shown it pending that many times (the next read sees the decision).  To make
the endpoint unavailable use a persistent fault, e.g. ``{"method": "GET",
"path": "/api/port25/requests", "status": 404, "persist": true}``, or status
200 with a ``body`` of another shape.
"""

import argparse
import base64
import binascii
import copy
import datetime
import http.server
import ipaddress
import json
import math
import os
import re
import secrets
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
import traceback
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_STATE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "default_state.json")

ERROR_TYPE_BASE = "https://developer.hostup.se/errors/"

# Titles of the problem codes the simulator emits.  Codes from the public
# catalogue keep their documented titles; the others are project decisions.
ERROR_TITLES = {
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    "vps_not_found": "VPS not found",
    "ticket_not_found": "Ticket not found",
    "invalid_request": "Validation failed",
    "invalid_cursor": "Validation failed",
    "vps_not_ready": "VPS not ready",
    "port25_requirements_not_met": "Port 25 requirements not met",
    "port25_request_pending": "Port 25 request pending",
    "port25_request_exists": "Port 25 already unblocked",
    "ticket_already_closed": "Ticket already closed",
    "ticket_not_closed": "Ticket not closed",
    "rate_limited": "Rate limit exceeded",
    "internal_error": "Internal server error",
    "upstream_unavailable": "Upstream unavailable",
    "conflict": "Conflict",
    "length_required": "Length required",
}

# Problem code used when an injected fault gives a status but no body.
FAULT_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
    500: "internal_error",
    502: "upstream_unavailable",
    503: "upstream_unavailable",
    504: "upstream_unavailable",
}

# Fields stored in the state that exist only to drive the simulator.  They
# are never echoed by /api/ routes.  Keys starting with "_" are treated the
# same way, so state files can carry private notes.
SIM_ONLY_FIELDS = frozenset({"readyAfterAttempts"})

# Ticket fields that the list endpoint leaves out (they are detail-only).
TICKET_DETAIL_ONLY_FIELDS = ("body", "attachments", "messages")

# Status values accepted by the ticket list filter (everything but "unknown").
TICKET_FILTER_STATUSES = ("open", "answered", "customer_reply", "in_progress", "on_hold", "closed")

# Billing cycles that count as "an annual-or-longer prepaid VPS term".
LONG_BILLING_CYCLES = ("annually", "biennially", "triennially")

PORT25_REASON_MAX = 5000
LIMIT_DEFAULT = 20
LIMIT_MAX = 100

ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_BODY_LENGTH = 26

# Address pools for generated VPSes, used in this order.
BULK_IP_POOLS = ("198.51.100.0/24", "203.0.113.0/24", "10.200.0.0/13")


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def iso_timestamp(epoch=None):
    """Format a time the way the API does: ISO 8601 UTC, milliseconds, ``Z``."""
    if epoch is None:
        epoch = time.time()
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def new_id(prefix):
    """Return a fresh public ID such as ``req_0123...`` (26 lowercase chars)."""
    body = "".join(secrets.choice(ID_ALPHABET) for dummy in range(ID_BODY_LENGTH))
    return prefix + "_" + body


def public_view(record, drop=()):
    """Copy a stored object without simulator-only fields (and ``drop``)."""
    return {
        name: copy.deepcopy(value)
        for name, value in record.items()
        if name not in SIM_ONLY_FIELDS and not name.startswith("_") and name not in drop
    }


def deep_merge(target, changes):
    """Merge ``changes`` into ``target`` in place, recursing into objects.

    Used by the admin PATCH routes so that ``{"billing": {"isPayg": true}}``
    changes one billing field instead of wiping the others.
    """
    for name, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(name), dict):
            deep_merge(target[name], value)
        else:
            target[name] = copy.deepcopy(value)
    return target


def first_value(query, name):
    """Return the first value of a query parameter, or None when absent."""
    values = query.get(name)
    return values[0] if values else None


def parse_json(raw):
    """Decode a request body; returns (ok, value).  An empty body is (True, None)."""
    if not raw:
        return True, None
    try:
        return True, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False, None


def is_loopback_host(host):
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalize_state(state):
    """Fill in the top-level sections a state file may leave out."""
    state = copy.deepcopy(state) if state is not None else {}
    if not isinstance(state, dict):
        raise ValueError("state must be a JSON object")
    state.setdefault("account", {})
    state["account"].setdefault("bankid_verified", False)
    for section in ("keys", "vps", "tickets", "port25_requests", "port25_whitelist"):
        state.setdefault(section, [])
    state.setdefault("port25_auto_decide", None)
    state.setdefault("rate_limit", None)
    return state


def load_state(source):
    """Load state from a dict, a path, or (None) the bundled default file."""
    if source is None:
        source = DEFAULT_STATE_PATH
    if isinstance(source, dict):
        return normalize_state(source)
    with open(os.fspath(source), "r", encoding="utf-8") as handle:
        return normalize_state(json.load(handle))


def validate_rate_limit(value):
    """Check a rate-limit setting: null; a fixed window, positive ``requests`` per ``per_seconds``;
    or a token bucket, ``burst`` requests at once and ``per_second`` more every second."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_request", "rate_limit must be an object or null.",
                       errors=[field_error("", "rate_limit must be an object or null.", "invalid_type")])
    if "burst" in value or "per_second" in value:
        fields = (("burst", "burst must be a positive integer.", True),
                  ("per_second", "per_second must be a positive number.", False))
    else:
        fields = (("requests", "requests must be a positive integer.", True),
                  ("per_seconds", "per_seconds must be a positive number.", False))
    errors = []
    for name, message, integer in fields:
        number = value.get(name)
        kinds = int if integer else (int, float)
        if isinstance(number, bool) or not isinstance(number, kinds) or number <= 0:
            errors.append(field_error("/" + name, message, "invalid_type"))
    if errors:
        raise ApiError(400, "invalid_request", "The rate limit setting is invalid.", errors=errors)
    return {name: value[name] for name, dummy, dummy2 in fields}


# --------------------------------------------------------------------------
# Errors and replies
# --------------------------------------------------------------------------

def field_error(pointer, detail, code):
    """One entry of a problem document's ``errors[]``."""
    return {"pointer": pointer, "detail": detail, "code": code}


class ApiError(Exception):
    """An error answer; turned into an RFC 7807 problem document."""

    def __init__(self, status, code, detail, errors=None, headers=None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})


class Reply:
    """A complete HTTP answer: status, body bytes, content type, extra headers."""

    def __init__(self, status, body, content_type, headers=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})


def json_reply(status, payload, headers=None):
    """Serialise a success payload."""
    body = json.dumps(payload).encode("utf-8")
    return Reply(status, body, "application/json", headers)


def problem_document(status, code, detail, instance, request_id, errors=None):
    """Build the RFC 7807 document every error uses."""
    document = {
        "type": ERROR_TYPE_BASE + code,
        "title": ERROR_TITLES.get(code, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        "requestId": request_id,
        "timestamp": iso_timestamp(),
    }
    if errors is not None:
        document["errors"] = errors
    return document


def problem_reply(error, instance, request_id, headers=None):
    """Serialise an ApiError; its own headers win over ``headers``."""
    merged = dict(headers or {})
    merged.update(error.headers)
    document = problem_document(error.status, error.code, error.detail, instance, request_id, error.errors)
    body = json.dumps(document).encode("utf-8")
    return Reply(error.status, body, "application/problem+json", merged)


class Request:
    """The parts of an HTTP request the simulator looks at."""

    def __init__(self, method, target, headers, raw_body):
        parts = urlsplit(target)
        self.method = method.upper()
        self.path = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.raw_body = raw_body
        self.body_ok, self.body = parse_json(raw_body)

    def bearer_token(self):
        """The API key from ``Authorization: Bearer <key>``, or None."""
        header = self.headers.get("Authorization") or ""
        scheme, dummy, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def legacy_api_key(self):
        """The API key from ``X-API-Key: <key>`` on a legacy (unversioned) /api/ path, or None."""
        if self.path.startswith("/api/v2/"):
            return None
        return (self.headers.get("X-API-Key") or "").strip() or None

    def flat_query(self):
        """Query parameters for the log: single values unwrapped from lists."""
        return {name: values[0] if len(values) == 1 else list(values) for name, values in self.query.items()}


class Outcome:
    """What the HTTP layer must send: a reply (None = drop), maybe truncated.

    ``headers_delay`` holds the status line back that many seconds; ``trickle`` (a fault's Trickle)
    sends the answer a few bytes at a time.
    """

    def __init__(self, request_id, reply, truncate=False, headers_delay=0.0, trickle=None):
        self.request_id = request_id
        self.reply = reply
        self.truncate = truncate
        self.headers_delay = headers_delay
        self.trickle = trickle


# --------------------------------------------------------------------------
# Pagination
# --------------------------------------------------------------------------

def encode_cursor(offset):
    """Opaque cursor: unpadded base64url of ``{"offset": n}``, like the docs' example."""
    raw = json.dumps({"offset": offset}, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor):
    """Return the offset stored in a cursor, or raise ``invalid_cursor``."""
    invalid = ApiError(400, "invalid_cursor", "Cursor is invalid or malformed.")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error):
        raise invalid from None
    offset = data.get("offset") if isinstance(data, dict) else None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise invalid
    return offset


def parse_limit(query):
    """Read ``limit`` (1-100, default 20); anything else is a validation error."""
    raw = first_value(query, "limit")
    if raw is None:
        return LIMIT_DEFAULT
    detail = "limit must be an integer between 1 and %d." % LIMIT_MAX
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_request", "The request query failed validation.",
                       errors=[field_error("/limit", detail, "invalid_type")]) from None
    if not 1 <= limit <= LIMIT_MAX:
        raise ApiError(400, "invalid_request", "The request query failed validation.",
                       errors=[field_error("/limit", detail, "out_of_range")])
    return limit


def paginate(items, query):
    """Cut one page out of ``items`` using ``limit`` and ``cursor``."""
    limit = parse_limit(query)
    cursor = first_value(query, "cursor")
    offset = decode_cursor(cursor) if cursor else 0
    page = items[offset:offset + limit]
    end = offset + limit
    next_cursor = encode_cursor(end) if end < len(items) else None
    return {"data": page, "nextCursor": next_cursor}


# --------------------------------------------------------------------------
# /api/v2 route handlers.  Each takes (state, request, params) and returns
# (status, payload) or raises ApiError.  They run with the state lock held.
# --------------------------------------------------------------------------

def find_vps(state, vps_id):
    """The stored VPS with this id, or raise ``vps_not_found``."""
    for vps in state["vps"]:
        if vps.get("id") == vps_id:
            return vps
    raise ApiError(404, "vps_not_found", "No VPS matching the given ID was found.")


def find_ticket(state, ticket_ref):
    """A ticket by ``tkt_`` id, or by its numeric number (accepted during migration)."""
    for ticket in state["tickets"]:
        if ticket.get("id") == ticket_ref:
            return ticket
        if ticket_ref.isdigit() and str(ticket.get("number")) == ticket_ref:
            return ticket
    raise ApiError(404, "ticket_not_found", "No support ticket matching the given ID was found.")


def list_vps(state, request, params):
    """GET /api/v2/vps with ``name`` (case-insensitive) and ``primaryIp`` filters."""
    name = first_value(request.query, "name")
    primary_ip = first_value(request.query, "primaryIp")
    matches = []
    for vps in state["vps"]:
        if name is not None and str(vps.get("name", "")).casefold() != name.casefold():
            continue
        if primary_ip is not None and vps.get("primaryIp") != primary_ip:
            continue
        matches.append(public_view(vps))
    return 200, paginate(matches, request.query)


def get_vps(state, request, params):
    """GET /api/v2/vps/{id}."""
    return 200, public_view(find_vps(state, params["id"]))


def validate_port25_body(body):
    """Return (vpsId, reason) or raise ``invalid_request`` listing every problem."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The request body failed validation.",
                       errors=[field_error("", "The request body must be a JSON object.", "invalid_type")])
    errors = []
    vps_id = body.get("vpsId")
    if vps_id is None or vps_id == "":
        errors.append(field_error("/vpsId", "`vpsId` is required.", "missing_required"))
    elif not isinstance(vps_id, str):
        errors.append(field_error("/vpsId", "`vpsId` must be a string.", "invalid_type"))
    reason = body.get("reason")
    if reason is None:
        errors.append(field_error("/reason", "`reason` is required.", "missing_required"))
    elif not isinstance(reason, str):
        errors.append(field_error("/reason", "`reason` must be a string.", "invalid_type"))
    elif not reason.strip():
        errors.append(field_error("/reason", "`reason` must not be blank.", "missing_required"))
    elif len(reason) > PORT25_REASON_MAX:
        errors.append(field_error("/reason", "`reason` must be at most %d characters." % PORT25_REASON_MAX,
                                  "too_long"))
    if errors:
        raise ApiError(400, "invalid_request", "The request body failed validation.", errors=errors)
    return vps_id, reason


def ensure_vps_ready(vps):
    """Refuse a provisioning VPS, counting down ``readyAfterAttempts``.

    A VPS without ``readyAfterAttempts`` stays provisioning until an admin
    PATCH changes it.  With a counter, each refused attempt decrements it;
    when it reaches 0 the VPS is running (visible to GET at once), and a
    counter already at 0 lets the current request through.
    """
    if vps.get("powerState") != "provisioning":
        return
    remaining = vps.get("readyAfterAttempts")
    if isinstance(remaining, int) and remaining <= 0:
        vps["powerState"] = "running"
        return
    if isinstance(remaining, int):
        vps["readyAfterAttempts"] = remaining - 1
        if remaining - 1 <= 0:
            vps["powerState"] = "running"
    raise ApiError(409, "vps_not_ready", "VPS not ready.")


def port25_eligible(state, vps):
    """BankID-verified account, or a fixed-cycle VPS billed annually or longer."""
    if state["account"].get("bankid_verified"):
        return True
    billing = vps.get("billing") or {}
    return billing.get("billingCycle") in LONG_BILLING_CYCLES and billing.get("isPayg") is False


def ensure_no_open_port25_request(state, vps_id, ip_address=None):
    """A pending or approved request blocks a new one; a rejected one does not; a whitelisted IP is unblocked."""
    statuses = {item.get("status") for item in state["port25_requests"] if item.get("vpsId") == vps_id}
    if ip_address and any(bare_ip(entry.get("ipAddress")) == ip_address for entry in state["port25_whitelist"]):
        statuses.add("approved")
    if "pending" in statuses:
        raise ApiError(409, "port25_request_pending", "A Port 25 request for this VPS/IP is already pending review.")
    if "approved" in statuses:
        raise ApiError(409, "port25_request_exists", "Port 25 is already unblocked for this VPS/IP.")


def create_port25_request(state, request, params):
    """POST /api/v2/support/port25-requests."""
    vps_id, reason = validate_port25_body(request.body)
    vps = find_vps(state, vps_id)
    ensure_vps_ready(vps)
    if not port25_eligible(state, vps):
        raise ApiError(403, "port25_requirements_not_met",
                       "Port 25 requests require BankID verification or a VPS prepaid on annual billing.")
    apply_port25_auto_decisions(state, count_read=False)
    ensure_no_open_port25_request(state, vps_id, vps.get("primaryIp"))
    record = {
        "id": new_id("p25"),
        "vpsId": vps_id,
        "vpsName": vps.get("name"),
        "ipAddress": vps.get("primaryIp") or "",
        "status": "pending",
        "reason": reason,
        "requestedAt": iso_timestamp(),
        "resolvedAt": None,
        "_filedAt": time.time(),
    }
    state["port25_requests"].append(record)
    return 201, public_view(record)


# ----- the legacy (unversioned) port 25 read: GET /api/port25/requests --------------------------
#
# The same requests as the v2 POST files, seen the legacy way: integer ids (4101 for the first
# request on file, then in filing order), numeric service ids (10700 + the VPS's position in the
# state), ``ipAddress`` with a ``/32`` suffix, ``justification`` for the reason, and the
# ``whitelist`` of addresses already allowed.  An approval adds the address to the whitelist.
# What the legacy view needs beyond the v2 record is kept in "_" fields, never shown by v2 routes.

LEGACY_REQUEST_ID_BASE = 4101
LEGACY_SERVICE_ID_BASE = 10700
LEGACY_WHITELIST_ID_BASE = 901
LEGACY_CLIENT_ID = 4242
AUTO_DECIDER = ("system", "port25-auto")
ADMIN_DECIDER = (7, "support-agent")


def bare_ip(value):
    """An address without its ``/32`` (or ``/128``) suffix."""
    text = str(value or "")
    address, dummy, prefix = text.partition("/")
    return address if prefix in ("", "32", "128") else text


def legacy_service(state, vps_id):
    """(serviceId, serviceName) of a VPS for the legacy view; (None, None) when unknown."""
    for index, vps in enumerate(state["vps"]):
        if vps.get("id") == vps_id:
            return LEGACY_SERVICE_ID_BASE + index, vps.get("name")
    return None, None


def decide_port25_request(state, record, decision, reason, automatic):
    """Approve or reject a pending request; an approval whitelists its address."""
    now = iso_timestamp()
    record["status"] = "approved" if decision == "approve" else "rejected"
    record["resolvedAt"] = now
    record["_updatedAt"] = now
    record["_autoApproved"] = bool(automatic and decision == "approve")
    record["_decisionReason"] = reason or (
        "Auto-approved via trust tier policy" if automatic and decision == "approve" else
        "Approved by support" if decision == "approve" else "Rejected by support")
    record["_decidedBy"] = list(AUTO_DECIDER if automatic else ADMIN_DECIDER)
    if decision == "approve":
        whitelist_address(state, record.get("ipAddress"), record.get("vpsId"),
                          notes="Port 25 request %s approved" % record.get("id"), automatic=automatic)


def whitelist_address(state, ip_address, vps_id=None, notes=None, automatic=False):
    """Add ``ip_address`` (once) to the legacy whitelist; return its entry."""
    address = bare_ip(ip_address)
    for entry in state["port25_whitelist"]:
        if bare_ip(entry.get("ipAddress")) == address:
            return entry
    service_id, service_name = legacy_service(state, vps_id)
    if service_id is None:
        for vps in state["vps"]:
            if vps.get("primaryIp") == address:
                service_id, service_name = legacy_service(state, vps.get("id"))
                break
    decider = AUTO_DECIDER if automatic else ADMIN_DECIDER
    now = iso_timestamp()
    entry = {
        "id": LEGACY_WHITELIST_ID_BASE + len(state["port25_whitelist"]),
        "ipAddress": address + "/32",
        "clientId": state["account"].get("client_id", LEGACY_CLIENT_ID),
        "serviceId": service_id,
        "serviceName": service_name,
        "notes": notes,
        "addedByAdminId": decider[0],
        "addedByAdminUsername": decider[1],
        "createdAt": now,
        "updatedAt": now,
    }
    state["port25_whitelist"].append(entry)
    return entry


def apply_port25_auto_decisions(state, count_read):
    """Decide pending requests as ``port25_auto_decide`` says (see ``PUT /_sim/port25/auto_decide``).

    ``after_seconds``: once that long has passed since the request was filed (or since the setting
    was made, if later).  ``after_reads``: once the legacy endpoint has shown it pending that many
    times (``count_read`` is true for a legacy read).
    """
    rule = state.get("port25_auto_decide")
    if not rule:
        return
    now = time.time()
    for record in state["port25_requests"]:
        if record.get("status") != "pending":
            continue
        if rule.get("after_reads") is not None:
            if count_read:
                record["_legacyReads"] = record.get("_legacyReads", 0) + 1
            due = record.get("_legacyReads", 0) > rule["after_reads"]
        else:
            start = max(record.get("_filedAt") or 0.0, rule.get("_setAt") or 0.0)
            due = now >= start + rule["after_seconds"]
        if due:
            decide_port25_request(state, record, rule["decision"], rule.get("reason"), automatic=True)


def legacy_request_view(state, index, record):
    """One request as ``GET /api/port25/requests`` shows it."""
    service_id, service_name = legacy_service(state, record.get("vpsId"))
    decider = record.get("_decidedBy") or [None, None]
    return {
        "id": LEGACY_REQUEST_ID_BASE + index,
        "clientId": state["account"].get("client_id", LEGACY_CLIENT_ID),
        "serviceId": service_id,
        "serviceName": service_name or record.get("vpsName"),
        "ipAddress": bare_ip(record.get("ipAddress")) + "/32",
        "justification": record.get("reason"),
        "status": record.get("status"),
        "decisionReason": record.get("_decisionReason"),
        "decidedByAdminId": decider[0],
        "decidedByAdminUsername": decider[1],
        "autoApproved": bool(record.get("_autoApproved")),
        "trustTier": 2,
        "bankidVerified": bool(state["account"].get("bankid_verified")),
        "totalSpend": "2388.00",
        "accountAgeDays": 412,
        "createdAt": record.get("requestedAt"),
        "updatedAt": record.get("_updatedAt") or record.get("resolvedAt") or record.get("requestedAt"),
    }


def list_port25_legacy(state, request, params):
    """GET /api/port25/requests: every request of the account and the whitelist, in the legacy envelope."""
    apply_port25_auto_decisions(state, count_read=True)
    return 200, {
        "success": True,
        "timestamp": iso_timestamp(),
        "requestId": new_id("req"),
        "data": {
            "requests": [legacy_request_view(state, index, record)
                         for index, record in enumerate(state["port25_requests"])],
            "whitelist": [public_view(entry) for entry in state["port25_whitelist"]],
        },
    }


def validate_ticket_status_filter(query):
    """Reject a ``status`` filter outside the documented enum."""
    status = first_value(query, "status")
    if status is not None and status not in TICKET_FILTER_STATUSES:
        raise ApiError(400, "invalid_request", "The request query failed validation.",
                       errors=[field_error("/status", "status must be one of: " + ", ".join(TICKET_FILTER_STATUSES)
                                           + ".", "invalid_enum")])
    return status


def list_tickets(state, request, params):
    """GET /api/v2/support/tickets: summaries, filtered by status/department."""
    status = validate_ticket_status_filter(request.query)
    department = first_value(request.query, "departmentSlug")
    matches = []
    for ticket in state["tickets"]:
        if status is not None and ticket.get("status") != status:
            continue
        if department is not None and ticket.get("departmentSlug") != department:
            continue
        matches.append(public_view(ticket, drop=TICKET_DETAIL_ONLY_FIELDS))
    return 200, paginate(matches, request.query)


def get_ticket(state, request, params):
    """GET /api/v2/support/tickets/{id} (id or numeric number)."""
    return 200, public_view(find_ticket(state, params["id"]))


def close_ticket(state, request, params):
    """POST .../actions/close: any status but ``closed`` can be closed."""
    ticket = find_ticket(state, params["id"])
    if ticket.get("status") == "closed":
        raise ApiError(409, "ticket_already_closed", "The support ticket is already closed.")
    ticket["status"] = "closed"
    ticket["updatedAt"] = iso_timestamp()
    return 200, public_view(ticket)


def reopen_ticket(state, request, params):
    """POST .../actions/reopen: only a ``closed`` ticket can be reopened."""
    ticket = find_ticket(state, params["id"])
    if ticket.get("status") != "closed":
        raise ApiError(409, "ticket_not_closed", "Only a closed support ticket can be reopened.")
    ticket["status"] = "open"
    ticket["updatedAt"] = iso_timestamp()
    return 200, public_view(ticket)


class Route:
    """One entry of a routing table: method, path pattern, scope, handler."""

    def __init__(self, method, pattern, handler, scope=None):
        self.method = method
        self.regex = re.compile("^" + pattern + "$")
        self.handler = handler
        self.scope = scope

    def match(self, method, path):
        """Path parameters (URL-decoded) when this route matches, else None."""
        if method != self.method:
            return None
        found = self.regex.match(path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


def match_route(routes, method, path):
    """Find the route for a request, or raise the generic ``not_found``."""
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            return route, params
    raise ApiError(404, "not_found", "No route matches %s %s." % (method, path))


_SEGMENT = "(?P<id>[^/]+)"

API_ROUTES = (
    Route("GET", "/api/v2/vps", list_vps, "read:vm"),
    Route("GET", "/api/v2/vps/" + _SEGMENT, get_vps, "read:vm"),
    Route("POST", "/api/v2/support/port25-requests", create_port25_request, "write:support"),
    # Legacy read; its scope for v2 keys is not documented, so any valid key may read it.
    Route("GET", "/api/port25/requests", list_port25_legacy, None),
    Route("GET", "/api/v2/support/tickets", list_tickets, "read:support"),
    Route("GET", "/api/v2/support/tickets/" + _SEGMENT, get_ticket, "read:support"),
    Route("POST", "/api/v2/support/tickets/" + _SEGMENT + "/actions/close", close_ticket, "write:support"),
    Route("POST", "/api/v2/support/tickets/" + _SEGMENT + "/actions/reopen", reopen_ticket, "write:support"),
)


# --------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------

# Fault kinds that rework the real answer of a list endpoint (``"list"``), in the order they apply.
LIST_MODES = ("endless", "cursor_object", "items_without_id", "items_not_objects", "data_not_list")

# Where ``echo_key`` puts the caller's key: a problem detail, an HTML page, or the real answer's data.
ECHO_PLACES = ("detail", "html", "data")

# What a trickled answer sends slowly: the body, the status line and headers, or both.
TRICKLE_PARTS = ("body", "headers", "all")

REDIRECT_STATUSES = (301, 302, 303, 307, 308)

# In the HTML page of ``echo_key: html`` the key starts at this character, so that an excerpt of
# the first 200 characters holds only the start of it.
HTML_ECHO_OFFSET = 190


def fault_field_error(name, message):
    """The 400 answer to a fault definition with a bad field."""
    return ApiError(400, "invalid_request", "The fault definition is invalid.",
                    errors=[field_error("/" + name, message, "invalid_type")])


def echo_page(key, status):
    """An HTML error page longer than 200 characters with ``key`` at HTML_ECHO_OFFSET."""
    lead = ("<!DOCTYPE html><html><head><title>%d Error</title></head><body><h1>Gateway error</h1>"
            "<p>The upstream service refused the request. Request made with the API key " % status)
    lead = lead[:HTML_ECHO_OFFSET].ljust(HTML_ECHO_OFFSET, ".")
    tail = " - check the key and try again later.</p><hr><address>hostup-sim gateway</address></body></html>"
    return (lead + key + tail).encode("utf-8")


def echo_in_data(payload, key):
    """Put ``key`` into the data fields of a VPS, ticket or port 25 answer (or of each list item).

    ``name``, ``subject`` and ``vpsName`` get the key appended, ``tags`` gets it as one more tag and
    ``operatingSystem.displayName`` becomes the key.
    """
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        items = payload["data"]
    else:
        items = [payload]
    for item in items:
        if not isinstance(item, dict):
            continue
        for name in ("name", "subject", "vpsName"):
            if isinstance(item.get(name), str):
                item[name] = "%s %s" % (item[name], key)
        if isinstance(item.get("tags"), list):
            item["tags"].append(key)
        system = item.get("operatingSystem")
        if isinstance(system, dict):
            system["displayName"] = key
    return payload


class Trickle:
    """How a trickled answer is paced: ``chunk_bytes`` every ``interval_ms``, padded to ``length``."""

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise fault_field_error("trickle", "trickle must be an object.")
        self.part = spec.get("part", "body")
        if self.part not in TRICKLE_PARTS:
            raise fault_field_error("trickle/part", "part must be one of: %s." % ", ".join(TRICKLE_PARTS))
        self.chunk_bytes = spec.get("chunk_bytes", 1)
        if isinstance(self.chunk_bytes, bool) or not isinstance(self.chunk_bytes, int) or self.chunk_bytes < 1:
            raise fault_field_error("trickle/chunk_bytes", "chunk_bytes must be an integer >= 1.")
        interval = spec.get("interval_ms", 1000)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise fault_field_error("trickle/interval_ms", "interval_ms must be a number > 0.")
        self.interval_ms = float(interval)
        self.length = spec.get("length")
        if self.length is not None and (isinstance(self.length, bool) or not isinstance(self.length, int)
                                        or self.length < 0):
            raise fault_field_error("trickle/length", "length must be an integer >= 0.")

    def describe(self):
        return {"part": self.part, "chunk_bytes": self.chunk_bytes, "interval_ms": self.interval_ms,
                "length": self.length}


class Fault:
    """One queued fault, parsed and checked from a ``POST /_sim/faults`` object.

    A fault matches requests by method and path and is used ``count`` times (or until cleared with
    ``persist``).  It either replaces the answer (``status``, ``location``, ``echo_key`` detail or
    html, ``drop``, ``truncate``) or keeps the real one and reworks it (``list``, ``echo_key`` data,
    extra ``headers``); ``latency_ms``, ``headers_delay_ms`` and ``trickle`` change when the bytes
    leave.  The module docstring lists every field.
    """

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ApiError(400, "invalid_request", "A fault must be a JSON object.",
                           errors=[field_error("", "A fault must be a JSON object.", "invalid_type")])
        self.method = str(spec.get("method", "*")).upper()
        self.path = str(spec.get("path", "*"))
        self.count = self._int(spec, "count", 1, minimum=1)
        self.persist = bool(spec.get("persist", False))
        self.status = self._int(spec, "status", None, minimum=100) if spec.get("status") is not None else None
        self.body = spec.get("body")
        self.content_type = str(spec.get("content_type") or "text/html")
        headers = spec.get("headers") or {}
        if not isinstance(headers, dict):
            raise fault_field_error("headers", "headers must be an object.")
        self.headers = {str(name): str(value) for name, value in headers.items()}
        self.latency_ms = self._delay(spec, "latency_ms")
        self.headers_delay_ms = self._delay(spec, "headers_delay_ms")
        self.drop = bool(spec.get("drop", False))
        self.truncate = bool(spec.get("truncate", False))
        self.apply = bool(spec.get("apply", False))
        self.code = spec.get("code")
        self.detail = spec.get("detail")
        self.title = self._text(spec, "title")
        self.location = self._text(spec, "location")
        self.trickle = Trickle(spec["trickle"]) if spec.get("trickle") is not None else None
        self.list_modes = self._list_modes(spec.get("list"))
        self.echo_key = spec.get("echo_key")
        if self.echo_key is not None and self.echo_key not in ECHO_PLACES:
            raise fault_field_error("echo_key", "echo_key must be one of: %s." % ", ".join(ECHO_PLACES))
        self._settle_status()

    def _settle_status(self):
        """Default and cross-check the status of redirects, echoes and reworked answers."""
        if self.location is not None:
            if self.status is None:
                self.status = 302
            if self.status not in REDIRECT_STATUSES:
                raise fault_field_error("status", "With location, status must be one of %s."
                                        % ", ".join(str(code) for code in REDIRECT_STATUSES))
        if self.echo_key in ("detail", "html") and self.status is None:
            self.status = 401 if self.echo_key == "detail" else 502
        if (self.list_modes or self.echo_key == "data") and self.status is not None:
            raise fault_field_error("list" if self.list_modes else "echo_key",
                                    "list and echo_key data rework the real answer; give no status or location.")

    @staticmethod
    def _int(spec, name, default, minimum):
        """Read an integer field, rejecting junk with a field error."""
        value = spec.get(name, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise fault_field_error(name, "%s must be an integer >= %d." % (name, minimum))
        return value

    @staticmethod
    def _delay(spec, name):
        """Read a delay in milliseconds (a number >= 0, default 0)."""
        value = spec.get(name) or 0
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise fault_field_error(name, "%s must be a number >= 0." % name)
        return float(value)

    @staticmethod
    def _text(spec, name):
        """Read an optional string field."""
        value = spec.get(name)
        if value is not None and not isinstance(value, str):
            raise fault_field_error(name, "%s must be a string." % name)
        return value

    @staticmethod
    def _list_modes(value):
        """``list`` as a tuple of known modes; one mode or an array of them."""
        if value is None:
            return ()
        modes = [value] if isinstance(value, str) else value
        if not isinstance(modes, list) or not modes or any(mode not in LIST_MODES for mode in modes):
            raise fault_field_error("list", "list must be one of, or an array of: %s." % ", ".join(LIST_MODES))
        return tuple(modes)

    def matches(self, request):
        """Method (or ``*``) and exact path, or prefix when the path ends in ``*``."""
        if self.method != "*" and self.method != request.method:
            return False
        if self.path.endswith("*"):
            return request.path.startswith(self.path[:-1])
        return request.path == self.path

    @property
    def keeps_answer(self):
        """True when the real answer is served (maybe delayed, trickled, reworked, with extra headers)."""
        return self.status is None and not self.drop and not self.truncate

    def pacing(self):
        """Keyword arguments of Outcome: how the HTTP layer sends the answer."""
        return {"headers_delay": self.headers_delay_ms / 1000.0, "trickle": self.trickle}

    def fault_reply(self, request, request_id):
        """The replacement answer for a fault that names a status."""
        headers = dict(self.headers)
        if self.location is not None:
            headers["Location"] = self.location
        if self.echo_key == "html":
            return Reply(self.status, echo_page(request.bearer_token() or "", self.status), "text/html", headers)
        if self.body is not None:
            body = self.body if isinstance(self.body, str) else json.dumps(self.body)
            return Reply(self.status, body.encode("utf-8"), self.content_type, headers)
        if self.location is not None:
            page = "<html><body><p>Moved to <a href=\"%s\">a new place</a>.</p></body></html>" % self.location
            return Reply(self.status, page.encode("utf-8"), "text/html", headers)
        if self.status < 400:
            return json_reply(self.status, {}, headers)
        code = self.code or FAULT_CODES.get(self.status) or ("internal_error" if self.status >= 500 else "error")
        detail = self.detail or ("Rate limit exceeded. Please try again later." if code == "rate_limited"
                                 else "Injected fault (HTTP %d)." % self.status)
        if self.echo_key == "detail":
            detail = "%s The API key %s was refused." % (
                self.detail or "Authentication failed.", request.bearer_token() or "")
        document = problem_document(self.status, code, detail, request.path, request_id)
        if self.title is not None:
            document["title"] = self.title
        return Reply(self.status, json.dumps(document).encode("utf-8"), "application/problem+json", headers)

    def rework(self, reply, request, first_page):
        """Apply ``echo_key: data`` and ``list`` to a real 2xx JSON answer; others pass unchanged.

        ``first_page`` returns the ``data`` of the list's first page (an endless list starts over
        there once it runs out).
        """
        if not (self.list_modes or self.echo_key == "data"):
            return reply
        if not 200 <= reply.status < 300 or reply.content_type != "application/json":
            return reply
        payload = json.loads(reply.body.decode("utf-8"))
        if self.echo_key == "data":
            payload = echo_in_data(payload, request.bearer_token() or "")
        if self.list_modes and isinstance(payload, dict) and isinstance(payload.get("data"), list):
            self._rework_list(payload, request, first_page)
        return Reply(reply.status, json.dumps(payload).encode("utf-8"), reply.content_type, reply.headers)

    def _rework_list(self, payload, request, first_page):
        """Break one page of a list the ways ``list`` asks for (the real page was valid)."""
        cursor = first_value(request.query, "cursor")
        offset = decode_cursor(cursor) if cursor else 0
        following = offset + parse_limit(request.query)
        data = payload["data"]
        if "endless" in self.list_modes:
            if not data and offset > 0:
                data = first_page()
            payload["nextCursor"] = encode_cursor(following)
        if "cursor_object" in self.list_modes:
            payload["nextCursor"] = {"offset": following}
        if "items_without_id" in self.list_modes:
            data = [{name: value for name, value in item.items() if name != "id"} if isinstance(item, dict)
                    else item for item in data]
        if "items_not_objects" in self.list_modes:
            data = list(range(1, max(1, len(data)) + 1))
        if "data_not_list" in self.list_modes:
            data = {str(item.get("id", index)) if isinstance(item, dict) else str(index): item
                    for index, item in enumerate(data)}
        payload["data"] = data

    def describe(self):
        """The fault as JSON, for the admin API."""
        return {
            "method": self.method, "path": self.path, "count": self.count, "persist": self.persist,
            "status": self.status, "body": self.body, "content_type": self.content_type, "headers": self.headers,
            "latency_ms": self.latency_ms, "headers_delay_ms": self.headers_delay_ms,
            "trickle": self.trickle.describe() if self.trickle else None, "drop": self.drop,
            "truncate": self.truncate, "apply": self.apply, "code": self.code, "detail": self.detail,
            "title": self.title, "location": self.location, "list": list(self.list_modes),
            "echo_key": self.echo_key,
        }


# --------------------------------------------------------------------------
# The simulator core: state, rate limiting, log, admin API
# --------------------------------------------------------------------------

class SimulatorCore:
    """All simulator state and request processing; the HTTP layer is separate.

    One lock guards everything mutable.  Sleeps (latency) happen outside it,
    so a slow request never blocks the others.
    """

    def __init__(self, state=None, latency_ms=0, log_file=None):
        self.lock = threading.Lock()
        self.initial_state = load_state(state)
        self.state = copy.deepcopy(self.initial_state)
        self.latency_ms = float(latency_ms or 0)
        self.log_file = log_file
        self.log = []
        self.seq = 0
        self.faults = []
        self.windows = {}
        self.admin_routes = self._build_admin_routes()

    # ----- /api/ ---------------------------------------------------------

    def handle_api(self, request):
        """Serve one /api/ request, applying latency, faults and logging."""
        request_id = new_id("req")
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000.0)
        with self.lock:
            fault = self._take_fault(request)
        if fault is not None and fault.latency_ms > 0:
            time.sleep(fault.latency_ms / 1000.0)
        if fault is None or fault.keeps_answer:
            return self._serve_normally(request, request_id, fault)
        return self._serve_fault(request, request_id, fault)

    def _serve_normally(self, request, request_id, fault):
        """Process against the live state and log the real answer.

        ``fault`` is None or one that keeps the real answer (its latency
        already slept): its extra headers are added, its ``list`` and
        ``echo_key: data`` rework the answer, and its pacing goes to the
        HTTP layer.
        """
        with self.lock:
            reply, key_name = self._process(request, request_id, self.state, count_rate=True)
            if fault is None:
                self._record(request, reply.status, key_name, False)
                return Outcome(request_id, reply)
            reply = fault.rework(reply, request, lambda: self._first_page(request, request_id))
            reply.headers.update(fault.headers)
            self._record(request, reply.status, key_name, True)
        return Outcome(request_id, reply, **fault.pacing())

    def _first_page(self, request, request_id):
        """The ``data`` of the first page of the list ``request`` reads (no cursor, same filters)."""
        again = Request(request.method, request.path, request.headers, request.raw_body)
        again.query = {name: values for name, values in request.query.items() if name != "cursor"}
        reply, dummy = self._process(again, request_id, self.state, count_rate=False)
        return json.loads(reply.body.decode("utf-8")).get("data") or []

    def _serve_fault(self, request, request_id, fault):
        """Answer with a fault; with ``apply`` the real work happens first.

        A truncated answer without a status is a cut-off copy of the real
        answer; without ``apply`` it is computed on a throwaway copy of the
        state so that nothing changes.
        """
        with self.lock:
            if fault.apply:
                real, key_name = self._process(request, request_id, self.state, count_rate=True)
            elif fault.truncate and fault.status is None:
                real, key_name = self._process(request, request_id, copy.deepcopy(self.state), count_rate=False)
            else:
                real, key_name = None, self._key_name(request)
            if fault.drop:
                self._record(request, None, key_name, True)
                return Outcome(request_id, None, **fault.pacing())
            if fault.status is not None:
                reply = fault.fault_reply(request, request_id)
            else:
                reply = real
                reply.headers.update(fault.headers)
            self._record(request, reply.status, key_name, True)
        return Outcome(request_id, reply, truncate=fault.truncate, **fault.pacing())

    def _process(self, request, request_id, state, count_rate):
        """Authenticate, rate-limit, route and run a handler; never raises.

        Returns (reply, key name or None).  Caller holds the lock.
        """
        key_name = None
        limit_headers = {}
        try:
            key = self._authenticate(request, state)
            key_name = key.get("name")
            limit = self._rate_limit_for(key, state)
            if limit is not None and count_rate:
                limit_headers = self._count_request(key["key"], limit)
            route, params = match_route(API_ROUTES, request.method, request.path)
            if route.scope and route.scope not in (key.get("scopes") or []):
                raise ApiError(403, "forbidden", "This API key lacks the required scope: %s." % route.scope)
            status, payload = route.handler(state, request, params)
            return json_reply(status, payload, limit_headers), key_name
        except ApiError as error:
            return problem_reply(error, request.path, request_id, limit_headers), key_name

    def _authenticate(self, request, state):
        """Return the key object for the bearer token, or raise 401."""
        token = request.bearer_token() or request.legacy_api_key()
        if token is not None:
            for key in state["keys"]:
                if key.get("key") == token:
                    return key
        raise ApiError(401, "unauthorized", "Authentication is required.")

    def _key_name(self, request):
        """Name of the caller's key (for the log) without enforcing auth."""
        try:
            return self._authenticate(request, self.state).get("name")
        except ApiError:
            return None

    @staticmethod
    def _rate_limit_for(key, state):
        """The key's own ``rate_limit`` when present (even null), else the global one."""
        if "rate_limit" in key:
            return key["rate_limit"]
        return state.get("rate_limit")

    def _count_request(self, token, limit):
        """Count a request against the key's limit; raise 429 when it is spent.

        Returns the X-RateLimit-* headers for a request that is let through.
        """
        if "burst" in limit:
            return self._take_token(token, limit)
        now = time.time()
        per_seconds = float(limit["per_seconds"])
        window = self.windows.get(token)
        if window is None or now >= window[0] + per_seconds:
            window = [now, 0]
            self.windows[token] = window
        window[1] += 1
        reset_at = window[0] + per_seconds
        headers = {
            "X-RateLimit-Limit": str(limit["requests"]),
            "X-RateLimit-Remaining": str(max(0, limit["requests"] - window[1])),
            "X-RateLimit-Reset": iso_timestamp(reset_at),
        }
        if window[1] > limit["requests"]:
            headers["Retry-After"] = str(max(1, int(math.ceil(reset_at - now))))
            raise ApiError(429, "rate_limited", "Rate limit exceeded. Please try again later.", headers=headers)
        return headers

    def _take_token(self, token, limit):
        """Token bucket: ``burst`` tokens, refilled at ``per_second``; a request takes one.

        A refused request takes none. Retry-After is the whole seconds until the next token, and
        X-RateLimit-Reset the moment the bucket is full again.
        """
        now = time.time()
        burst = float(limit["burst"])
        rate = float(limit["per_second"])
        tokens, last = self.windows.get(token, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self.windows[token] = (tokens, now)
        headers = {
            "X-RateLimit-Limit": str(limit["burst"]),
            "X-RateLimit-Remaining": str(int(tokens)),
            "X-RateLimit-Reset": iso_timestamp(now + (burst - tokens) / rate),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, int(math.ceil((1.0 - tokens) / rate))))
            raise ApiError(429, "rate_limited", "Rate limit exceeded. Please try again later.", headers=headers)
        return headers

    def _take_fault(self, request):
        """Consume one use of the first (oldest) matching fault, if any; a ``persist`` one stays."""
        for index, fault in enumerate(self.faults):
            if fault.matches(request):
                if fault.persist:
                    return fault
                fault.count -= 1
                if fault.count <= 0:
                    del self.faults[index]
                return fault
        return None

    def _record(self, request, status, key_name, faulted):
        """Append an entry to the request log (never the key itself)."""
        self.seq += 1
        entry = {
            "seq": self.seq,
            "time": iso_timestamp(),
            "method": request.method,
            "path": request.path,
            "query": request.flat_query(),
            "status": status,
            "key_name": key_name,
            "body": request.body if request.body_ok else None,
            "fault": faulted,
        }
        self.log.append(entry)
        if self.log_file:
            with open(self.log_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")

    # ----- /_sim/ admin --------------------------------------------------

    def handle_admin(self, request):
        """Serve one admin request (no auth, no latency, not logged)."""
        request_id = new_id("req")
        try:
            if not request.body_ok:
                raise ApiError(400, "invalid_request", "The request body is not valid JSON.",
                               errors=[field_error("", "The request body is not valid JSON.", "invalid_json")])
            route, params = match_route(self.admin_routes, request.method, request.path)
            with self.lock:
                status, payload = route.handler(request, params)
                reply = json_reply(status, payload)
        except ApiError as error:
            reply = problem_reply(error, request.path, request_id)
        return Outcome(request_id, reply)

    def _build_admin_routes(self):
        """The admin routing table; handlers take (request, params)."""
        return (
            Route("POST", "/_sim/reset", self._admin_reset),
            Route("GET", "/_sim/state", self._admin_state),
            Route("GET", "/_sim/log", self._admin_log),
            Route("DELETE", "/_sim/log", self._admin_clear_log),
            Route("GET", "/_sim/faults", self._admin_list_faults),
            Route("POST", "/_sim/faults", self._admin_add_faults),
            Route("DELETE", "/_sim/faults", self._admin_clear_faults),
            Route("POST", "/_sim/port25/" + _SEGMENT + "/(?P<decision>approve|reject)", self._admin_decide_port25),
            Route("PUT", "/_sim/port25/auto_decide", self._admin_port25_auto_decide),
            Route("POST", "/_sim/port25/whitelist", self._admin_port25_whitelist),
            Route("POST", "/_sim/tickets/" + _SEGMENT + "/status", self._admin_ticket_status),
            Route("POST", "/_sim/vps/bulk", self._admin_bulk_vps),
            Route("PATCH", "/_sim/vps/" + _SEGMENT, self._admin_patch_vps),
            Route("PUT", "/_sim/rate_limit", self._admin_rate_limit),
            Route("PUT", "/_sim/account", self._admin_account),
        )

    @staticmethod
    def _object_body(request):
        """The request body, which must be a JSON object."""
        if not isinstance(request.body, dict):
            raise ApiError(400, "invalid_request", "The request body must be a JSON object.",
                           errors=[field_error("", "The request body must be a JSON object.", "invalid_type")])
        return request.body

    def _admin_reset(self, request, params):
        """Restore the start state, or install the state given in the body."""
        body = request.body
        if isinstance(body, dict) and isinstance(body.get("state"), dict):
            new_state = body["state"]
        elif isinstance(body, dict) and body:
            new_state = body
        else:
            new_state = self.initial_state
        try:
            self.state = normalize_state(new_state)
        except ValueError as error:
            raise ApiError(400, "invalid_request", str(error)) from None
        self.log = []
        self.seq = 0
        self.faults = []
        self.windows = {}
        return 200, {"reset": True}

    def _admin_state(self, request, params):
        return 200, self.state

    def _admin_log(self, request, params):
        rate_limited = sum(1 for entry in self.log if entry["status"] == 429)
        return 200, {"requests": self.log, "rate_limited": rate_limited}

    def _admin_clear_log(self, request, params):
        self.log = []
        self.seq = 0
        return 200, {"requests": []}

    def _admin_list_faults(self, request, params):
        return 200, {"faults": [fault.describe() for fault in self.faults]}

    def _admin_add_faults(self, request, params):
        """Queue one fault (object) or several (array), in order."""
        specs = request.body if isinstance(request.body, list) else [request.body]
        new_faults = [Fault(spec) for spec in specs]
        self.faults.extend(new_faults)
        return 201, {"faults": [fault.describe() for fault in self.faults]}

    def _admin_clear_faults(self, request, params):
        self.faults = []
        return 200, {"faults": []}

    def _admin_decide_port25(self, request, params):
        """Approve or reject a filed port 25 request (``p25_`` id or legacy integer id), as support staff would.

        An optional body ``{"reason": "..."}`` is the decision reason the legacy endpoint shows.
        """
        reason = request.body.get("reason") if isinstance(request.body, dict) else None
        if reason is not None and not isinstance(reason, str):
            raise ApiError(400, "invalid_request", "reason must be a string.",
                           errors=[field_error("/reason", "reason must be a string.", "invalid_type")])
        for index, record in enumerate(self.state["port25_requests"]):
            if params["id"] in (record.get("id"), str(LEGACY_REQUEST_ID_BASE + index)):
                decide_port25_request(self.state, record, params["decision"], reason, automatic=False)
                return 200, record
        raise ApiError(404, "not_found", "No port 25 request with id %s." % params["id"])

    def _admin_port25_auto_decide(self, request, params):
        """Decide pending port 25 requests automatically; ``null`` or ``{}`` turns it off.

        ``{"after_seconds": 2, "decision": "approve", "reason": "..."}`` decides each pending
        request that long after it was filed; ``{"after_reads": 2, ...}`` instead once the legacy
        endpoint has shown it pending twice (the third read sees the decision).
        """
        body = request.body
        if not body:
            self.state["port25_auto_decide"] = None
            return 200, {"port25_auto_decide": None}
        body = self._object_body(request)
        errors = []
        if body.get("decision") not in ("approve", "reject"):
            errors.append(field_error("/decision", "decision must be approve or reject.", "invalid_enum"))
        timing = [name for name in ("after_seconds", "after_reads") if body.get(name) is not None]
        if len(timing) != 1:
            errors.append(field_error("", "give exactly one of after_seconds and after_reads.", "invalid_request"))
        for name in timing:
            value = body[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                errors.append(field_error("/" + name, "%s must be a number >= 0." % name, "invalid_type"))
        if body.get("reason") is not None and not isinstance(body["reason"], str):
            errors.append(field_error("/reason", "reason must be a string.", "invalid_type"))
        if errors:
            raise ApiError(400, "invalid_request", "The auto_decide setting is invalid.", errors=errors)
        rule = {"decision": body["decision"], "reason": body.get("reason"), "_setAt": time.time()}
        rule[timing[0]] = body[timing[0]]
        self.state["port25_auto_decide"] = rule
        return 200, {"port25_auto_decide": public_view(rule)}

    def _admin_port25_whitelist(self, request, params):
        """Whitelist an address directly (``{"ip_address": "192.0.2.11", "notes": "..."}``), as if unblocked long ago."""
        body = self._object_body(request)
        address = body.get("ip_address")
        if not isinstance(address, str) or not address:
            raise ApiError(400, "invalid_request", "ip_address must be a non-empty string.",
                           errors=[field_error("/ip_address", "ip_address must be a non-empty string.",
                                               "invalid_type")])
        return 201, whitelist_address(self.state, address, notes=body.get("notes"))

    def _admin_ticket_status(self, request, params):
        """Force a ticket into any status (including ``unknown``)."""
        status = self._object_body(request).get("status")
        if not isinstance(status, str) or not status:
            raise ApiError(400, "invalid_request", "status must be a non-empty string.",
                           errors=[field_error("/status", "status must be a non-empty string.", "invalid_type")])
        try:
            ticket = find_ticket(self.state, params["id"])
        except ApiError as error:
            raise ApiError(404, "not_found", error.detail) from None
        ticket["status"] = status
        ticket["updatedAt"] = iso_timestamp()
        return 200, ticket

    def _admin_patch_vps(self, request, params):
        """Merge fields into a VPS (e.g. ``{"powerState": "running"}``)."""
        changes = dict(self._object_body(request))
        changes.pop("id", None)
        try:
            vps = find_vps(self.state, params["id"])
        except ApiError as error:
            raise ApiError(404, "not_found", error.detail) from None
        return 200, deep_merge(vps, changes)

    def _admin_rate_limit(self, request, params):
        """Set (or clear with null) the global limit; windows start afresh."""
        self.state["rate_limit"] = validate_rate_limit(request.body)
        self.windows = {}
        return 200, {"rate_limit": self.state["rate_limit"]}

    def _admin_account(self, request, params):
        deep_merge(self.state["account"], self._object_body(request))
        return 200, self.state["account"]

    def _admin_bulk_vps(self, request, params):
        """Append ``count`` generated running VPSes; returns the created list."""
        body = self._object_body(request)
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ApiError(400, "invalid_request", "count must be a positive integer.",
                           errors=[field_error("/count", "count must be a positive integer.", "invalid_type")])
        prefix = str(body.get("prefix") or "bench")
        cycle = str(body.get("billingCycle") or "annually")
        created = generate_vps(self.state, count, prefix, cycle)
        self.state["vps"].extend(created)
        return 201, created


def free_addresses(used):
    """Yield unused addresses from the bulk pools, in order."""
    for pool in BULK_IP_POOLS:
        for address in ipaddress.ip_network(pool).hosts():
            text = str(address)
            if text not in used:
                yield text


def generate_vps(state, count, prefix, cycle):
    """Build ``count`` VPS objects named ``<prefix>-001``... with unique ids/IPs.

    Numbering continues after VPSes already carrying the prefix, so calling
    the bulk route twice does not produce duplicate names.
    """
    used_ips = {vps.get("primaryIp") for vps in state["vps"]}
    used_ids = {vps.get("id") for vps in state["vps"]}
    start = 1 + sum(1 for vps in state["vps"] if str(vps.get("name", "")).startswith(prefix + "-"))
    addresses = free_addresses(used_ips)
    period_years = {"annually": 1, "biennially": 2, "triennially": 3}.get(cycle)
    created = []
    for number in range(start, start + count):
        vps_id = new_id("vps")
        while vps_id in used_ids:
            vps_id = new_id("vps")
        used_ids.add(vps_id)
        created.append({
            "id": vps_id,
            "name": "%s-%03d" % (prefix, number),
            "primaryIp": next(addresses),
            "serviceStatus": "active",
            "powerState": "running",
            "operatingSystem": {"displayName": "Ubuntu 24.04", "family": "ubuntu", "version": "24.04",
                                "variant": "server"},
            "billing": {"amount": 199, "currencyCode": "SEK", "billingCycle": cycle, "isPayg": False,
                        "periodYears": period_years},
            "resources": {"cpuCores": 2, "memoryGb": 4, "storageGb": 80},
            "tags": [],
        })
    return created


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------

class SimRequestHandler(http.server.BaseHTTPRequestHandler):
    """Reads a request, hands it to the core, writes the Outcome.

    HTTP/1.1 keep-alive is supported, so every answer carries Content-Length
    and request bodies are read by Content-Length only.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "hostup-sim/1.0"
    timeout = 60

    def version_string(self):
        """Advertise only the simulator, not the Python version."""
        return self.server_version

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Silence the default per-request stderr line; the core keeps a log."""

    def _read_body(self):
        """Read the body by Content-Length; None when it cannot be read."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self):
        core = self.server.core
        raw_body = self._read_body()
        if raw_body is None:
            error = ApiError(411, "length_required", "Send the request body with a valid Content-Length.")
            self.close_connection = True
            self._send(Outcome("req_unreadable", problem_reply(error, self.path, "req_unreadable")))
            return
        try:
            request = Request(self.command, self.path, self.headers, raw_body)
            if request.path.startswith("/api/"):
                outcome = core.handle_api(request)
            elif request.path == "/_sim" or request.path.startswith("/_sim/"):
                outcome = core.handle_admin(request)
            else:
                request_id = new_id("req")
                error = ApiError(404, "not_found", "No route matches %s %s." % (request.method, request.path))
                outcome = Outcome(request_id, problem_reply(error, request.path, request_id))
        except Exception:  # a simulator bug must still produce an answer
            traceback.print_exc(file=sys.stderr)
            request_id = new_id("req")
            error = ApiError(500, "internal_error", "An unexpected error occurred.")
            outcome = Outcome(request_id, problem_reply(error, self.path, request_id))
        self._send(outcome)

    def _send(self, outcome):
        """Write the answer; hold it back, trickle it, drop it or cut it short when a fault says so."""
        if outcome.headers_delay > 0:
            time.sleep(outcome.headers_delay)
        if outcome.reply is None:
            self.close_connection = True
            return
        reply = outcome.reply
        headers = {"Content-Type": reply.content_type, "X-Request-Id": outcome.request_id}
        for name, value in reply.headers.items():
            for existing in [h for h in headers if h.lower() == name.lower()]:
                del headers[existing]
            if name.lower() != "content-length":
                headers[name] = value
        body = reply.body
        if outcome.trickle is not None and outcome.trickle.length is not None:
            # Trailing spaces keep a JSON body valid while making it as long as asked.
            body = body.ljust(outcome.trickle.length, b" ")
        headers["Content-Length"] = str(len(body))
        if outcome.truncate:
            body = body[:len(body) // 2]
            self.close_connection = True
        try:
            if outcome.trickle is not None:
                self._send_slowly(reply.status, headers, body, outcome.trickle)
                return
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_slowly(self, status, headers, body, trickle):
        """Write the answer ``trickle.chunk_bytes`` at a time, the first chunk at once, then one per interval.

        ``trickle.part`` says what is paced: the body (headers at once), the status line and headers
        (body at once after them), or all of it as one stream.
        """
        lines = ["%s %d %s" % (self.protocol_version, status, self.responses.get(status, ("",))[0]),
                 "Server: " + self.version_string(), "Date: " + self.date_time_string()]
        lines.extend("%s: %s" % (name, value) for name, value in headers.items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        paced = {"body": body, "headers": head, "all": head + body}[trickle.part]
        if trickle.part == "body":
            self.wfile.write(head)
            self.wfile.flush()
        for start in range(0, len(paced), trickle.chunk_bytes):
            if start:
                time.sleep(trickle.interval_ms / 1000.0)
            self.wfile.write(paced[start:start + trickle.chunk_bytes])
            self.wfile.flush()
        if trickle.part == "headers":
            self.wfile.write(body)
            self.wfile.flush()


class SimHTTPServer(http.server.ThreadingHTTPServer):
    """Threaded server holding a reference to the shared SimulatorCore."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, core):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.core = core
        super().__init__(address, SimRequestHandler)

    def server_bind(self):
        """Bind without HTTPServer's reverse-DNS lookup, which can stall."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        """Clients hanging up mid-answer are normal here; stay quiet about them."""
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class Simulator:
    """The simulator as an object: start/stop it in-process or use ``with``.

    ``start()`` returns the base URL (also kept in ``.url``); the server runs
    in a daemon thread.  ``.core`` gives direct access for white-box tests.
    """

    def __init__(self, host="127.0.0.1", port=0, state=None, latency_ms=0, log_file=None):
        self.host = host
        self.port = port
        self.state_source = state
        self.latency_ms = latency_ms
        self.log_file = log_file
        self.core = None
        self.url = None
        self._server = None
        self._thread = None

    def start(self, host=None, port=None, state=None, latency_ms=None):
        """Bind, start serving in the background, return ``http://host:port``."""
        if self._server is not None:
            raise RuntimeError("simulator already running")
        host = self.host if host is None else host
        port = self.port if port is None else port
        if not is_loopback_host(host):
            raise ValueError("refusing to listen on non-loopback host %r" % host)
        bind_host = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
        self.core = SimulatorCore(
            state=self.state_source if state is None else state,
            latency_ms=self.latency_ms if latency_ms is None else latency_ms,
            log_file=self.log_file,
        )
        self._server = SimHTTPServer((bind_host, port), self.core)
        bound_port = self._server.server_address[1]
        url_host = "[%s]" % bind_host if ":" in bind_host else host
        self.url = "http://%s:%d" % (url_host, bound_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostup-sim", daemon=True)
        self._thread.start()
        return self.url

    @property
    def port_number(self):
        """The port actually bound (useful after ``port=0``)."""
        return self._server.server_address[1] if self._server else None

    def stop(self):
        """Stop serving and release the socket; safe to call twice."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def snapshot(self):
        """A deep copy of the current state (for in-process assertions)."""
        with self.core.lock:
            return copy.deepcopy(self.core.state)

    def __enter__(self):
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()
        return False


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def write_port_file(path, port):
    """Write the port atomically (temp file + rename) so readers never see half."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp_path = tempfile.mkstemp(prefix=".hostup-sim-port.", dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write("%d\n" % port)
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Stateful simulator of the HostUp v2 REST API.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--state", default=DEFAULT_STATE_PATH, help="JSON state file (default: bundled demo)")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay before answering each /api/ request")
    parser.add_argument("--port-file", help="write the bound port number to this file")
    parser.add_argument("--log-file", help="append one JSON line per /api/ request to this file")
    return parser.parse_args(argv)


def main(argv=None):
    """Run until SIGTERM/SIGINT; exit status 0 on a clean stop, 2 on bad input."""
    args = parse_args(argv)
    if not is_loopback_host(args.host):
        sys.stderr.write("hostup-sim: refusing non-loopback host %r\n" % args.host)
        return 2
    simulator = Simulator(host=args.host, port=args.port, state=args.state,
                          latency_ms=args.latency_ms, log_file=args.log_file)
    try:
        url = simulator.start()
    except (OSError, ValueError) as error:
        sys.stderr.write("hostup-sim: cannot start: %s\n" % error)
        return 2
    stop_requested = threading.Event()

    def request_stop(signum, frame):
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if args.port_file:
        write_port_file(args.port_file, simulator.port_number)
    sys.stdout.write("hostup-sim listening on %s\n" % url)
    sys.stdout.flush()
    while not stop_requested.wait(0.5):
        pass
    simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

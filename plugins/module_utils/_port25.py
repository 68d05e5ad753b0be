# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Port 25 (outbound SMTP): filing an unblock request, and reading whether port 25 is open yet.

Filing uses the v2 API (``POST /api/v2/support/port25-requests``). The v2 API cannot read requests
back, so the state comes from HostUp's legacy endpoint ``GET /api/port25/requests``, which lists
every request of the account and the whitelist of addresses already allowed (docs/api.md, "Port 25").
One GET reads the whole account. Its requests carry legacy ids, so a VPS is matched by its primary
IP address. When that endpoint cannot be read, the state is ``unknown``, with one warning, and
nothing fails unless the caller asked to wait for HostUp's decision.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    HostupApiError,
    HostupError,
    HostupInputError,
    one_line,
    snake_case,
)
from ansible_collections.hostup.cloud.plugins.module_utils._tickets import SCOPE_WRITE_SUPPORT
from ansible_collections.hostup.cloud.plugins.module_utils._vps import get_vps, resolve_vps

PORT25_PATH = "/api/v2/support/port25-requests"
LEGACY_PORT25_PATH = "/api/port25/requests"
LEGACY_KEY_HEADER = "X-API-Key"
REQUIREMENTS_NOT_MET_CODE = "port25_requirements_not_met"
REQUIREMENTS_HINT = ("HostUp accepts port 25 requests only from accounts verified with BankID, or for a VPS "
                     "prepaid annually or longer. Verify the account with BankID or change the VPS billing cycle, "
                     "then run again")
NOT_READY_CODE = "vps_not_ready"
READY_POLL_FIRST = 1.0
READY_POLL_CAP = 15.0
# Waiting for HostUp's decision: the first check again after 5 s, doubling up to one a minute.
DECISION_POLL_FIRST = 5.0
DECISION_POLL_CAP = 60.0

# The state of port 25 for one address.
UNBLOCKED = "unblocked"
PENDING = "pending"
REJECTED = "rejected"
NONE = "none"
UNKNOWN = "unknown"
STATES = (UNBLOCKED, PENDING, REJECTED, NONE, UNKNOWN)
_STATE_OF_STATUS = {"approved": UNBLOCKED, "pending": PENDING, "rejected": REJECTED}

# Control characters a person reading the reason cannot see (NUL, escape sequences, ...); tab and line breaks
# are ordinary text.
_INVISIBLE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

AMBIGUOUS_WARNING = (
    "an earlier attempt to file the port 25 request for %s got no clear answer (gateway error or lost "
    "connection) and the retry found a request already pending: the first attempt probably filed it")


class Port25DecisionError(HostupError):
    """Waiting for HostUp's decision ended without port 25 open: rejected, timed out or unreadable.

    ``extras`` go into the failed task's result (what is known about the request and the state).
    """

    def __init__(self, message, extras=None):
        super().__init__(message)
        self.extras = extras or {}

    def to_result(self):
        return dict(self.extras)


# -- reading the state ---------------------------------------------------------------------------------

class Port25Account(object):
    """What one read of the legacy endpoint showed: requests and whitelist (snake_case), or why not."""

    def __init__(self, requests=None, whitelist=None, problem=None):
        self.requests = requests or []
        self.whitelist = whitelist or []
        # Why the state could not be read (one line), or None when it was.
        self.problem = problem

    @property
    def available(self):
        return self.problem is None

    def warning(self, consequence):
        """The one warning about an unreadable state, ending with what the caller does instead."""
        return "could not read the port 25 state from GET %s (HostUp's legacy endpoint): %s; the state is " \
               "unknown, so %s" % (LEGACY_PORT25_PATH, self.problem.rstrip("."), consequence)

    def state_of(self, ip_address):
        """The state of one address: a dict with ``state``, ``decision_reason``, ``request`` (the newest),
        ``requests`` (newest first) and ``whitelist`` (the entries that cover it)."""
        if not self.available:
            return {"ip_address": ip_address, "state": UNKNOWN, "decision_reason": None, "request": None,
                    "requests": [], "whitelist": []}
        address = _address(ip_address)
        requests = [item for item in self.requests if address is not None and _address(item.get("ip_address")) == address]
        requests.sort(key=_newest_first_key, reverse=True)
        whitelist = [item for item in self.whitelist if _covers(item.get("ip_address"), address)]
        newest = requests[0] if requests else None
        if whitelist:
            state = UNBLOCKED
        elif newest is None:
            state = NONE
        else:
            state = _STATE_OF_STATUS.get(newest.get("status"), UNKNOWN)
        return {
            "ip_address": ip_address,
            "state": state,
            "decision_reason": newest.get("decision_reason") if newest else None,
            "request": newest,
            "requests": requests,
            "whitelist": whitelist,
        }


def read_port25_account(client):
    """The port 25 requests and whitelist of the account, with ONE GET of the legacy endpoint.

    The key goes as the legacy pages' examples send it (``X-API-Key``) and as the v2 API wants it
    (``Authorization: Bearer``), to ``api_url`` only. A refusal (401, 403), a missing route (404, 405, 410), any
    other failure that survived the client's retries, or an answer of unknown shape makes the state
    unknown (``problem`` says why) instead of failing.
    """
    try:
        answer = client.get(LEGACY_PORT25_PATH, key_header=LEGACY_KEY_HEADER)
    except HostupApiError as exc:
        return Port25Account(problem=_describe_failure(exc))
    body = answer.get("data") if isinstance(answer, dict) and isinstance(answer.get("data"), dict) else answer
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list) \
            or not isinstance(body.get("whitelist", []), list):
        return Port25Account(problem="the answer has an unknown shape (no requests list)")
    requests = [snake_case(item) for item in body["requests"] if isinstance(item, dict)]
    whitelist = [snake_case(item) for item in body.get("whitelist") or [] if isinstance(item, dict)]
    if len(requests) != len(body["requests"]) or len(whitelist) != len(body.get("whitelist") or []):
        return Port25Account(problem="the answer has an unknown shape (list items that are not objects)")
    return Port25Account(requests, whitelist)


def _describe_failure(exc):
    if exc.status is None:
        return one_line(exc.reason or "no response")
    text = "HTTP %s" % exc.status
    if exc.code:
        text += " %s" % exc.code
    if exc.detail or exc.title:
        text += ": %s" % (exc.detail or exc.title)
    if exc.reason:
        text += " (%s)" % exc.reason
    return one_line(text)


def _address(value):
    """An IP address (ipaddress object) from ``192.0.2.10`` or ``192.0.2.10/32``; None when it is not one."""
    if not isinstance(value, str):
        return None
    text, dummy, prefix = value.strip().partition("/")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if prefix and prefix != str(address.max_prefixlen):
        return None
    return address


def _covers(entry, address):
    """True when a whitelist ``ip_address`` (an address, or a network such as ``192.0.2.8/29``) holds ``address``."""
    if address is None or not isinstance(entry, str):
        return False
    try:
        return address in ipaddress.ip_network(entry.strip(), strict=False)
    except (ValueError, TypeError):
        return False


def _newest_first_key(request):
    """Sort key: creation time (ISO 8601 text sorts in time order), then the legacy id."""
    created = request.get("created_at")
    legacy_id = request.get("id")
    return (created if isinstance(created, str) else "",
            legacy_id if isinstance(legacy_id, int) and not isinstance(legacy_id, bool) else -1)


def wait_for_decisions(client, account, ip_addresses, decision_timeout, describe, waiting=(PENDING,)):
    """Read again (one GET each time, with backoff) until none of ``ip_addresses`` is pending.

    ``account`` is the read already made; ``describe(ip)`` names the request in the progress line;
    ``waiting`` are the states that count as undecided.
    Returns ``(account, timed_out)``. An unreadable state raises Port25DecisionError: there is
    nothing to wait on.
    """
    deadline = client.clock() + decision_timeout
    delay = DECISION_POLL_FIRST
    while True:
        if not account.available:
            raise Port25DecisionError("cannot wait for HostUp's decision: GET %s failed: %s" % (
                LEGACY_PORT25_PATH, account.problem))
        pending = [ip for ip in ip_addresses if account.state_of(ip)["state"] in waiting]
        if not pending:
            return account, False
        remaining = deadline - client.clock()
        if remaining <= 0:
            return account, True
        pause = min(delay, remaining)
        if len(pending) == 1:
            what = "port 25 request for %s still pending" % describe(pending[0])
        else:
            what = "%d port 25 requests still pending (%s)" % (len(pending), ", ".join(
                describe(ip) for ip in pending[:5]) + (", ..." if len(pending) > 5 else ""))
        client.say("%s: checking again in %.0f s, %.0f s left of decision_timeout" % (what, pause, remaining))
        client.sleep(pause)
        delay = min(delay * 2, DECISION_POLL_CAP)
        account = read_port25_account(client)


# -- filing ----------------------------------------------------------------------------------------------

def request_port25_unblock(client, reason, vps_id=None, vps_name=None, ip_address=None,
                           wait_timeout=600, check_mode=False, wait_for_decision=False, decision_timeout=1800):
    """File the request unless one is there; return the task result (changed, port25_request, diff, warnings).

    Without ``wait_for_decision`` and outside check mode only the POST is sent (a 409 means a request
    is already there). In check mode, and with ``wait_for_decision``, the state is read from the
    legacy endpoint: check mode predicts from it, and waiting polls it until HostUp decides.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise HostupInputError("reason must be a non-empty text explaining how outbound SMTP will be used")
    control = _INVISIBLE_CONTROL.search(reason)
    if control:
        raise HostupInputError("reason contains the control character U+%04X at position %d; only text, tabs and "
                               "line breaks are allowed" % (ord(control.group()), control.start() + 1))
    if wait_timeout is None or wait_timeout < 0:
        raise HostupInputError("wait_timeout must be 0 or more seconds")
    if wait_for_decision and (decision_timeout is None or decision_timeout < 0):
        raise HostupInputError("decision_timeout must be 0 or more seconds")
    given = [name for name, value in (("vps_id", vps_id), ("vps_name", vps_name), ("ip_address", ip_address))
             if value is not None]
    if len(given) != 1:
        raise HostupInputError("exactly one of vps_id, vps_name or ip_address is required (got %s)" % (
            ", ".join(given) or "none"))

    vps = resolve_vps(client, vps_id=vps_id, vps_name=vps_name, ip_address=ip_address)
    if (check_mode or wait_for_decision) and not vps.get("primary_ip"):
        # The state is matched by IP address, which a VPS given by id does not tell: one VPS read.
        found = get_vps(client, vps["id"])
        if found is None:
            raise HostupInputError("no VPS with id %s in this account" % vps["id"])
        vps = found
    known = {"vps_id": vps["id"], "vps_name": vps.get("name"), "ip_address": vps.get("primary_ip")}
    filed_diff = {"before": {}, "after": {"vps_id": vps["id"], "reason": reason, "status": "pending"}}
    unchanged_diff = {"before": {}, "after": {}}
    warnings = []

    if check_mode:
        account = read_port25_account(client)
        if not account.available:
            warnings.append(account.warning("check mode predicts a filing"))
        state = account.state_of(known["ip_address"])
        if state["state"] in (UNBLOCKED, PENDING):
            record = _request_record(known, status="approved" if state["state"] == UNBLOCKED else "pending")
            record.update(_from_state(state))
            return {"changed": False, "port25_request": record, "port25_state": state["state"],
                    "diff": unchanged_diff, "warnings": warnings}
        record = _request_record(known, reason=reason)
        return {"changed": True, "port25_request": record, "port25_state": state["state"], "diff": filed_diff,
                "warnings": warnings}

    try:
        response = _post_until_ready(client, {"vpsId": vps["id"], "reason": reason}, wait_timeout)
    except HostupApiError as exc:
        # A vps_not_ready that outlived wait_timeout is a failure, not a pending request.
        if exc.status != 409 or exc.code == NOT_READY_CODE:
            raise
        record = _request_record(known, conflict_code=exc.code)
        changed = bool(exc.ambiguous)
        if changed:
            warnings.append(AMBIGUOUS_WARNING % vps["id"])
        result = {"changed": changed, "port25_request": record, "diff": filed_diff if changed else unchanged_diff,
                  "warnings": warnings}
    else:
        data = snake_case(response.data) if isinstance(response.data, dict) else {}
        record = _request_record(known, reason=reason)
        record.update({key: value for key, value in data.items() if value is not None})
        result = {"changed": True, "port25_request": record, "diff": filed_diff, "warnings": warnings}

    if wait_for_decision:
        _wait_for_decision(client, result, decision_timeout)
    return result


def _wait_for_decision(client, result, decision_timeout):
    """Poll the legacy endpoint until HostUp decides the request in ``result``; update it, or fail."""
    record = result["port25_request"]
    ip_address = record.get("ip_address")
    label = "%s (%s)" % (record["vps_id"], ip_address)
    if record.get("status") == "approved":
        # Approved on the spot by the POST's own answer.
        result["port25_state"] = UNBLOCKED
        return
    account = read_port25_account(client)
    try:
        # Filed now (or a 409 said one is there) but not listed yet counts as pending: the legacy list may lag.
        account, timed_out = wait_for_decisions(client, account, [ip_address], decision_timeout, lambda ip: label,
                                                waiting=(PENDING, NONE))
    except Port25DecisionError as exc:
        exc.extras = {"changed": result["changed"], "port25_request": record, "port25_state": UNKNOWN}
        raise
    state = account.state_of(ip_address)
    record.update(_from_state(state))
    result["port25_state"] = state["state"]
    extras = {"changed": result["changed"], "port25_request": record, "port25_state": state["state"]}
    if timed_out or state["state"] in (PENDING, NONE):
        record["status"] = "pending"
        raise Port25DecisionError(
            "the port 25 request for %s is still pending after %s s (decision_timeout); HostUp has not decided "
            "yet, run again later or raise decision_timeout" % (label, decision_timeout), extras)
    if state["state"] == REJECTED:
        record["status"] = "rejected"
        raise Port25DecisionError("HostUp rejected the port 25 request for %s: %s" % (
            label, one_line(state["decision_reason"] or "no reason given")), extras)
    if state["state"] == UNBLOCKED:
        record["status"] = "approved"
        return
    raise Port25DecisionError("the port 25 request for %s has a status this module does not know: %s" % (
        label, one_line(str((state["request"] or {}).get("status")))), extras)


def _from_state(state):
    """Fields of the request record that the legacy state adds."""
    extra = {"decision_reason": state["decision_reason"]}
    newest = state["request"]
    if newest:
        if newest.get("created_at"):
            extra["requested_at"] = newest.get("created_at")
        if newest.get("status") in ("approved", "rejected"):
            extra["resolved_at"] = newest.get("updated_at")
    return extra


def _request_record(known, reason=None, conflict_code=None, status="pending"):
    record = {
        "id": None,
        "vps_id": known["vps_id"],
        "vps_name": known["vps_name"],
        "ip_address": known["ip_address"],
        "status": status,
        "reason": reason,
        "requested_at": None,
        "resolved_at": None,
        "conflict_code": conflict_code,
    }
    return record


def _post_until_ready(client, body, wait_timeout):
    """POST, and while HostUp says the VPS is still being provisioned (409 vps_not_ready) try again with backoff."""
    deadline = client.clock() + wait_timeout
    delay = READY_POLL_FIRST
    while True:
        try:
            response = client.request("POST", PORT25_PATH, body=body, scope=SCOPE_WRITE_SUPPORT, safe_to_repeat=True,
                                      explain=explain_port25_error)
        except HostupApiError as exc:
            if exc.status != 409 or exc.code != NOT_READY_CODE:
                raise
            remaining = deadline - client.clock()
            if remaining <= 0:
                exc.hint = "the VPS never became ready within wait_timeout (%ss)" % wait_timeout
                raise
            pause = min(delay, remaining)
            client.say("VPS %s not ready: retrying in %.0f s, %.0f s left of wait_timeout" % (
                body["vpsId"], pause, remaining))
            client.sleep(pause)
            delay = min(delay * 2, READY_POLL_CAP)
            continue
        return response


def explain_port25_error(error):
    """What HostUp's 403 for a port 25 request means, in plain words."""
    if error.status == 403 and error.code == REQUIREMENTS_NOT_MET_CODE:
        return REQUIREMENTS_HINT
    return None


# -- reporting the state (hostup_port25_info) ----------------------------------------------------------------

def port25_info(client, vps_id=None, vps_name=None, ip_address=None, ip_addresses=None,
                wait_for_decision=False, decision_timeout=1800):
    """The task result of hostup_port25_info: the state of the account, of one VPS, or of some addresses.

    One GET of the legacy endpoint (plus one per poll with ``wait_for_decision``); a VPS named by id
    or name is read first for its primary IP. An unreadable state is a warning, not a failure, unless
    the caller waits.
    """
    given = [name for name, value in (("vps_id", vps_id), ("vps_name", vps_name), ("ip_address", ip_address),
                                      ("ip_addresses", ip_addresses)) if value is not None]
    if len(given) > 1:
        raise HostupInputError("at most one of vps_id, vps_name, ip_address and ip_addresses may be given (got %s)"
                               % ", ".join(given))
    if wait_for_decision and (decision_timeout is None or decision_timeout < 0):
        raise HostupInputError("decision_timeout must be 0 or more seconds")
    vps = None
    if vps_id is not None:
        resolve_vps(client, vps_id=vps_id)  # checks the id's format before any request
        vps = get_vps(client, vps_id)
        if vps is None:
            raise HostupInputError("no VPS with id %s in this account" % vps_id)
    elif vps_name is not None:
        vps = resolve_vps(client, vps_name=vps_name)
    if vps is not None:
        if not vps.get("primary_ip"):
            raise HostupInputError("VPS %s has no primary IP address, and port 25 requests are matched by address"
                                   % vps["id"])
        selected = [vps["primary_ip"]]
    elif ip_address is not None:
        selected = [ip_address]
    elif ip_addresses is not None:
        selected = list(ip_addresses)
    else:
        selected = None
    for address in selected or []:
        if _address(address) is None:
            raise HostupInputError("%r is not an IP address" % (address,))

    account = read_port25_account(client)
    warnings = []
    timed_out = None
    if wait_for_decision:
        watched = selected if selected is not None else _account_addresses(account)
        account, timed_out = wait_for_decisions(client, account, watched, decision_timeout, _describe_address(vps))
    elif not account.available:
        warnings.append(account.warning("nothing can be said about port 25 here"))
    report = _report(account, selected, vps, ip_address)
    if timed_out is not None:
        report["timed_out"] = timed_out
    result = {"changed": False, "port25": report, "warnings": warnings}
    if timed_out:
        still = sorted(ip for ip, item in report["ip_states"].items() if item["state"] == PENDING)
        raise Port25DecisionError(
            "still pending after %s s (decision_timeout): the port 25 request%s for %s; HostUp has not decided yet" % (
                decision_timeout, "" if len(still) == 1 else "s", ", ".join(still)),
            extras={"changed": False, "port25": report})
    return result


def _describe_address(vps):
    if vps is None:
        return lambda ip: ip
    return lambda ip: "%s (%s)" % (vps["id"], ip)


def _account_addresses(account):
    """Every single address the account's requests and whitelist name, as text, in first-seen order."""
    seen = []
    for item in account.requests + account.whitelist:
        address = _address(item.get("ip_address"))
        if address is not None and str(address) not in seen:
            seen.append(str(address))
    return seen


def _report(account, selected, vps, ip_address):
    addresses = selected if selected is not None else _account_addresses(account)
    states = dict((ip, account.state_of(ip)) for ip in addresses)
    ip_states = {}
    for ip, state in states.items():
        newest = state["request"] or {}
        ip_states[ip] = {"state": state["state"], "decision_reason": state["decision_reason"],
                         "request_id": newest.get("id"), "updated_at": newest.get("updated_at")}
    if selected is None:
        requests, whitelist = account.requests, account.whitelist
    else:
        requests = [item for state in states.values() for item in state["requests"]]
        whitelist = []
        for state in states.values():
            whitelist.extend(entry for entry in state["whitelist"] if entry not in whitelist)
    one = states[selected[0]] if (vps is not None or ip_address is not None) else None
    counts = dict((name, 0) for name in STATES)
    for item in ip_states.values():
        counts[item["state"]] += 1
    return {
        "available": account.available,
        "state": one["state"] if one else None,
        "decision_reason": one["decision_reason"] if one else None,
        "vps_id": vps["id"] if vps else None,
        "vps_name": vps.get("name") if vps else None,
        "ip_address": (vps["primary_ip"] if vps else ip_address),
        "requests": requests,
        "whitelist": whitelist,
        "ip_states": ip_states,
        "counts": counts,
    }

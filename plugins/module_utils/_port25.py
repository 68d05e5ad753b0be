# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filing an outbound SMTP (port 25) unblock request: read -> decide -> act, without AnsibleModule."""

from __future__ import annotations

import re

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    HostupApiError,
    HostupInputError,
    snake_case,
)
from ansible_collections.hostup.cloud.plugins.module_utils._tickets import SCOPE_WRITE_SUPPORT
from ansible_collections.hostup.cloud.plugins.module_utils._vps import resolve_vps

PORT25_PATH = "/api/v2/support/port25-requests"
REQUIREMENTS_NOT_MET_CODE = "port25_requirements_not_met"
REQUIREMENTS_HINT = ("HostUp accepts port 25 requests only from accounts verified with BankID, or for a VPS "
                     "prepaid annually or longer. Verify the account with BankID or change the VPS billing cycle, "
                     "then run again")
NOT_READY_CODE = "vps_not_ready"
READY_POLL_FIRST = 1.0
READY_POLL_CAP = 15.0

# Control characters a person reading the reason cannot see (NUL, escape sequences, ...); tab and line breaks
# are ordinary text.
_INVISIBLE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

AMBIGUOUS_WARNING = (
    "an earlier attempt to file the port 25 request for %s got no clear answer (gateway error or lost "
    "connection) and the retry found a request already pending: the first attempt probably filed it")


def request_port25_unblock(client, reason, vps_id=None, vps_name=None, ip_address=None,
                           wait_timeout=600, check_mode=False):
    """File the request unless one is pending; return the task result (changed, port25_request, diff, warnings)."""
    if not isinstance(reason, str) or not reason.strip():
        raise HostupInputError("reason must be a non-empty text explaining how outbound SMTP will be used")
    control = _INVISIBLE_CONTROL.search(reason)
    if control:
        raise HostupInputError("reason contains the control character U+%04X at position %d; only text, tabs and "
                               "line breaks are allowed" % (ord(control.group()), control.start() + 1))
    if wait_timeout is None or wait_timeout < 0:
        raise HostupInputError("wait_timeout must be 0 or more seconds")
    given = [name for name, value in (("vps_id", vps_id), ("vps_name", vps_name), ("ip_address", ip_address))
             if value is not None]
    if len(given) != 1:
        raise HostupInputError("exactly one of vps_id, vps_name or ip_address is required (got %s)" % (
            ", ".join(given) or "none"))

    vps = resolve_vps(client, vps_id=vps_id, vps_name=vps_name, ip_address=ip_address)
    known = {"vps_id": vps["id"], "vps_name": vps.get("name"), "ip_address": vps.get("primary_ip")}
    filed_diff = {"before": {}, "after": {"vps_id": vps["id"], "reason": reason, "status": "pending"}}

    if check_mode:
        # The v2 API cannot show whether a request is already pending, so check mode predicts a filing.
        return {
            "changed": True,
            "port25_request": _request_record(known, reason=reason),
            "diff": filed_diff,
            "warnings": [],
        }

    try:
        response = _post_until_ready(client, {"vpsId": vps["id"], "reason": reason}, wait_timeout)
    except HostupApiError as exc:
        # A vps_not_ready that outlived wait_timeout is a failure, not a pending request.
        if exc.status != 409 or exc.code == NOT_READY_CODE:
            raise
        record = _request_record(known, conflict_code=exc.code)
        if exc.ambiguous:
            return {"changed": True, "port25_request": record, "diff": filed_diff,
                    "warnings": [AMBIGUOUS_WARNING % vps["id"]]}
        return {"changed": False, "port25_request": record, "diff": {"before": {}, "after": {}}, "warnings": []}

    data = snake_case(response.data) if isinstance(response.data, dict) else {}
    record = _request_record(known, reason=reason)
    record.update({key: value for key, value in data.items() if value is not None})
    return {"changed": True, "port25_request": record, "diff": filed_diff, "warnings": []}


def _request_record(known, reason=None, conflict_code=None):
    record = {
        "id": None,
        "vps_id": known["vps_id"],
        "vps_name": known["vps_name"],
        "ip_address": known["ip_address"],
        "status": "pending",
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

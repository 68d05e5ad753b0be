# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading support tickets and putting one in the open or closed state, without AnsibleModule."""

from __future__ import annotations

import re

from ansible_collections.hostup.cloud.plugins.module_utils._client import (
    HostupApiError,
    HostupInputError,
    path_id,
    snake_case,
)

TICKETS_PATH = "/api/v2/support/tickets"
SCOPE_READ_SUPPORT = "read:support"
SCOPE_WRITE_SUPPORT = "write:support"
_TICKET_ID = re.compile(r"^(tkt_[A-Za-z0-9]{1,64}|[0-9]{1,20})$")
OPEN_STATUSES = ("open", "answered", "customer_reply", "in_progress", "on_hold")
CLOSED_STATUS = "closed"
TICKET_STATUSES = OPEN_STATUSES + (CLOSED_STATUS,)
ACTIONS = {"open": "reopen", "closed": "close"}

AMBIGUOUS_WARNING = (
    "an earlier attempt to %s ticket %s got no clear answer (gateway error or lost connection) and the "
    "retry found it already %s: the first attempt probably did it")


def ticket_path_id(value):
    """Validate a ticket id (tkt_... or the numeric ticket number) and return it ready for a URL path."""
    return path_id(value, _TICKET_ID, "a ticket id must be tkt_<letters and digits> or a numeric ticket number")


def get_ticket(client, ticket_id):
    """The ticket detail (snake_case keys); a clear error when it does not exist."""
    path = "%s/%s" % (TICKETS_PATH, ticket_path_id(ticket_id))
    try:
        data = client.get(path, scope=SCOPE_READ_SUPPORT)
    except HostupApiError as exc:
        if exc.status == 404:
            exc.hint = "ticket %s not found or not visible to this API key" % ticket_id
        raise
    ticket = _unwrap(data)
    if not isinstance(ticket, dict) or "status" not in ticket:
        raise HostupApiError("GET", path, status=200, reason="the answer is not a ticket")
    return snake_case(ticket)


def list_tickets(client, status=None, department_slug=None):
    query = {}
    if status is not None:
        query["status"] = status
    if department_slug is not None:
        query["departmentSlug"] = department_slug
    return [snake_case(item) for item in client.paginate(TICKETS_PATH, query=query, scope=SCOPE_READ_SUPPORT)]


def ticket_state_of(ticket):
    """'open' or 'closed' for a known status; fail for anything else, since then nothing may be changed."""
    status = ticket.get("status")
    if status == CLOSED_STATUS:
        return "closed"
    if status in OPEN_STATUSES:
        return "open"
    raise HostupInputError(
        "ticket %s has status %r, which is neither open nor closed; nothing was changed" % (ticket.get("id"), status))


def set_ticket_state(client, ticket_id, state="open", check_mode=False):
    """Reopen or close the ticket when it is not already in ``state``; return the task result."""
    if state not in ACTIONS:
        raise HostupInputError("state must be one of open, closed (got %r)" % (state,))
    ticket_path_id(ticket_id)
    ticket = get_ticket(client, ticket_id)
    before = ticket.get("status")
    if ticket_state_of(ticket) == state:
        return {"changed": False, "ticket": ticket, "diff": {"before": {}, "after": {}}, "warnings": []}

    wanted_status = "open" if state == "open" else CLOSED_STATUS
    if check_mode:
        predicted = dict(ticket, status=wanted_status)
        return {"changed": True, "ticket": predicted,
                "diff": {"before": {"status": before}, "after": {"status": wanted_status}}, "warnings": []}

    action = ACTIONS[state]
    warnings = []
    path = "%s/%s/actions/%s" % (TICKETS_PATH, ticket_path_id(ticket_id), action)
    try:
        response = client.request("POST", path, scope=SCOPE_WRITE_SUPPORT, safe_to_repeat=True)
        after = _unwrap(response.data)
        if not isinstance(after, dict) or "status" not in after:
            # An empty or unexpected body still means success: read the ticket as it is now.
            after = get_ticket(client, ticket_id)
        else:
            after = snake_case(after)
        if ticket_state_of(after) != state:
            # A success that did not do the work (a proxy's answer, a stale copy) must not pass for one.
            raise HostupApiError("POST", path, status=response.status, reason="HostUp answered, but the ticket "
                                 "is %s, not %s" % (after.get("status"), state))
    except HostupApiError as exc:
        if exc.status != 409:
            raise
        # Somebody (or our own first attempt) changed the ticket meanwhile: decide from what it is now.
        after = get_ticket(client, ticket_id)
        if ticket_state_of(after) != state:
            raise
        if not exc.ambiguous:
            return {"changed": False, "ticket": after, "diff": {"before": {}, "after": {}}, "warnings": []}
        warnings.append(AMBIGUOUS_WARNING % (action, ticket_id, state))
    return {"changed": True, "ticket": after,
            "diff": {"before": {"status": before}, "after": {"status": after.get("status")}}, "warnings": warnings}


def _unwrap(data):
    """Accept both a bare object and a {"data": {...}} envelope."""
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "status" not in data:
        return data["data"]
    return data


def ticket_info(client, ticket_id=None, status=None, department_slug=None):
    """The task result of hostup_ticket_info: one ticket's detail by id, or the filtered list of summaries."""
    if ticket_id is not None:
        try:
            tickets = [get_ticket(client, ticket_id)]
        except HostupApiError as exc:
            if exc.status != 404:
                raise
            tickets = []
        if status is not None:
            tickets = [t for t in tickets if t.get("status") == status]
        if department_slug is not None:
            tickets = [t for t in tickets if t.get("department_slug") == department_slug]
    else:
        tickets = list_tickets(client, status=status, department_slug=department_slug)
    return {"changed": False, "tickets": tickets}

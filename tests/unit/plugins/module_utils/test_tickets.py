# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""set_ticket_state, get_ticket and list_tickets against the simulator: every HTTP call, and the result."""

from __future__ import annotations

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupApiError, HostupInputError
from ansible_collections.hostup.cloud.plugins.module_utils._tickets import (
    get_ticket,
    list_tickets,
    set_ticket_state,
)

TICKETS = "/api/v2/support/tickets"
OPEN_TICKET = "tkt_01hticket00000000000000001"      # status open, number 149943
CLOSED_TICKET = "tkt_01hticket00000000000000002"    # status closed, number 149944
ANSWERED_TICKET = "tkt_01hticket00000000000000003"  # status answered, number 149945


def get(ref):
    return ("GET", "%s/%s" % (TICKETS, ref))


def action(ref, name):
    return ("POST", "%s/%s/actions/%s" % (TICKETS, ref, name))


def stored_status(sim, ticket_id):
    return next(t["status"] for t in sim.state()["tickets"] if t["id"] == ticket_id)


def test_closing_an_open_ticket_reads_it_then_closes_it(sim, client):
    result = set_ticket_state(client(), OPEN_TICKET, state="closed")
    assert sim.calls() == [get(OPEN_TICKET), action(OPEN_TICKET, "close")]
    assert sim.log()[1]["body"] is None
    assert result["changed"] is True and result["warnings"] == []
    assert result["ticket"]["id"] == OPEN_TICKET and result["ticket"]["status"] == "closed"
    assert result["diff"] == {"before": {"status": "open"}, "after": {"status": "closed"}}
    assert stored_status(sim, OPEN_TICKET) == "closed"


@pytest.mark.parametrize("ticket_id, state", [(CLOSED_TICKET, "closed"), (OPEN_TICKET, "open"),
                                              (ANSWERED_TICKET, "open")])
def test_a_ticket_already_in_the_wanted_state_is_only_read(sim, client, ticket_id, state):
    before = stored_status(sim, ticket_id)
    result = set_ticket_state(client(), ticket_id, state=state)
    assert sim.calls() == [get(ticket_id)]
    assert result["changed"] is False
    assert result["diff"] == {"before": {}, "after": {}}
    assert result["ticket"]["status"] == before == stored_status(sim, ticket_id)


@pytest.mark.parametrize("status", ["open", "answered", "customer_reply", "in_progress", "on_hold"])
def test_every_open_like_status_counts_as_open(sim, client, status):
    sim.set_ticket_status(OPEN_TICKET, status)
    assert set_ticket_state(client(), OPEN_TICKET, state="open")["changed"] is False
    result = set_ticket_state(client(), OPEN_TICKET, state="closed")
    assert result["changed"] is True and result["diff"]["before"] == {"status": status}


def test_reopening_by_ticket_number(sim, client):
    result = set_ticket_state(client(), "149944", state="open")
    assert sim.calls() == [get("149944"), action("149944", "reopen")]
    assert result["changed"] is True
    assert result["ticket"]["id"] == CLOSED_TICKET and result["ticket"]["number"] == "149944"
    assert result["ticket"]["status"] == "open"
    assert result["diff"] == {"before": {"status": "closed"}, "after": {"status": "open"}}
    assert stored_status(sim, CLOSED_TICKET) == "open"


def test_the_default_state_is_open(sim, client):
    assert set_ticket_state(client(), CLOSED_TICKET)["ticket"]["status"] == "open"
    assert sim.calls()[-1] == action(CLOSED_TICKET, "reopen")


@pytest.mark.parametrize("ticket_id, state, before, after", [
    (OPEN_TICKET, "closed", "open", "closed"),
    (CLOSED_TICKET, "open", "closed", "open"),
])
def test_check_mode_only_reads_and_predicts(sim, client, ticket_id, state, before, after):
    result = set_ticket_state(client(), ticket_id, state=state, check_mode=True)
    assert sim.calls() == [get(ticket_id)]
    assert result["changed"] is True
    assert result["ticket"]["status"] == after and result["ticket"]["id"] == ticket_id
    assert result["diff"] == {"before": {"status": before}, "after": {"status": after}}
    assert stored_status(sim, ticket_id) == before


def test_a_409_race_rereads_and_succeeds_without_change(sim, client, clock):
    # Someone else closes the ticket between our GET and our POST: the close is applied, we get its 409.
    sim.fault(method="POST", path="%s/%s/actions/close" % (TICKETS, OPEN_TICKET), status=409, apply=True,
              code="ticket_already_closed", detail="The support ticket is already closed.")
    result = set_ticket_state(client(), OPEN_TICKET, state="closed")
    assert sim.calls() == [get(OPEN_TICKET), action(OPEN_TICKET, "close"), get(OPEN_TICKET)]
    assert sim.statuses() == [200, 409, 200]
    assert clock.sleeps == []
    assert result["changed"] is False and result["warnings"] == []
    assert result["ticket"]["status"] == "closed"


def test_a_409_that_leaves_the_ticket_in_the_wrong_state_fails(sim, client):
    sim.fault(method="POST", path="%s/%s/actions/reopen" % (TICKETS, CLOSED_TICKET), status=409,
              code="ticket_not_closed", detail="Only a closed support ticket can be reopened.")
    with pytest.raises(HostupApiError) as info:
        set_ticket_state(client(), CLOSED_TICKET, state="open")
    assert info.value.status == 409 and info.value.code == "ticket_not_closed"
    assert sim.calls() == [get(CLOSED_TICKET), action(CLOSED_TICKET, "reopen"), get(CLOSED_TICKET)]
    assert stored_status(sim, CLOSED_TICKET) == "closed"


def test_an_ambiguous_gateway_error_on_close_is_a_change_with_a_warning(sim, client, clock):
    sim.fault(method="POST", path="%s/%s/actions/close" % (TICKETS, OPEN_TICKET), status=502, apply=True, count=1)
    result = set_ticket_state(client(), OPEN_TICKET, state="closed")
    assert sim.calls() == [get(OPEN_TICKET), action(OPEN_TICKET, "close"), action(OPEN_TICKET, "close"),
                           get(OPEN_TICKET)]
    assert sim.statuses() == [200, 502, 409, 200]
    assert len(clock.sleeps) == 1
    assert result["changed"] is True
    (warning,) = result["warnings"]
    assert "close ticket %s" % OPEN_TICKET in warning and "the first attempt probably did it" in warning
    assert result["ticket"]["status"] == "closed"
    assert result["diff"] == {"before": {"status": "open"}, "after": {"status": "closed"}}
    assert stored_status(sim, OPEN_TICKET) == "closed"


def test_an_unknown_status_fails_and_changes_nothing(sim, client):
    sim.set_ticket_status(OPEN_TICKET, "unknown")
    with pytest.raises(HostupInputError) as info:
        set_ticket_state(client(), OPEN_TICKET, state="closed")
    assert str(info.value) == ("ticket %s has status 'unknown', which is neither open nor closed; "
                               "nothing was changed" % OPEN_TICKET)
    assert sim.calls() == [get(OPEN_TICKET)]
    assert stored_status(sim, OPEN_TICKET) == "unknown"


@pytest.mark.parametrize("ticket_id", ["tkt_doesnotexist", "999999"])
def test_an_unknown_ticket_is_not_found_or_not_visible(sim, client, clock, ticket_id):
    with pytest.raises(HostupApiError) as info:
        set_ticket_state(client(), ticket_id, state="closed")
    error = info.value
    assert error.status == 404 and error.code == "ticket_not_found"
    assert str(error).startswith("GET %s/%s failed: HTTP 404 ticket_not_found: " % (TICKETS, ticket_id))
    assert str(error).endswith(". ticket %s not found or not visible to this API key" % ticket_id)
    assert sim.calls() == [get(ticket_id)] and clock.sleeps == []


def test_a_read_only_key_can_read_but_not_close(sim, client):
    with pytest.raises(HostupApiError, match="This call needs an API key with the write:support scope"):
        set_ticket_state(client(api_key="sim-readonly-key"), OPEN_TICKET, state="closed")
    assert sim.statuses() == [200, 403]
    assert stored_status(sim, OPEN_TICKET) == "open"


@pytest.mark.parametrize("ticket_id", ["tkt_1/actions/close", "../tickets", "tkt_a?b", "%2F", "tkt 1", "", 149943])
def test_a_bad_ticket_id_is_rejected_before_any_request(sim, client, ticket_id):
    with pytest.raises(HostupInputError, match="^invalid id"):
        set_ticket_state(client(), ticket_id, state="closed")
    assert sim.log() == []


def test_a_bad_state_is_rejected_before_any_request(sim, client):
    with pytest.raises(HostupInputError, match="state must be one of open, closed"):
        set_ticket_state(client(), OPEN_TICKET, state="absent")
    assert sim.log() == []


def test_get_ticket_returns_the_detail_with_snake_case_keys(sim, client):
    ticket = get_ticket(client(), "149943")
    assert sim.calls() == [get("149943")]
    assert ticket["id"] == OPEN_TICKET and ticket["number"] == "149943"
    assert ticket["department_slug"] == "vps" and ticket["priority"] == "medium"
    assert ticket["linked_services"][0]["service_id"] == "vps_01hmail0000000000000000001"
    assert ticket["linked_services"][0]["details"]["ip_address"] == "192.0.2.11"
    assert ticket["messages"][0]["ticket_id"] == OPEN_TICKET
    assert not any(key != key.lower() for key in ticket)


def test_get_ticket_refuses_an_answer_that_is_not_a_ticket(sim, client):
    sim.fault(method="GET", path="%s/%s" % (TICKETS, OPEN_TICKET), status=200, body={"hello": "world"},
              content_type="application/json")
    with pytest.raises(HostupApiError, match="the answer is not a ticket"):
        get_ticket(client(), OPEN_TICKET)


def test_list_tickets_returns_summaries_and_passes_filters(sim, client):
    api = client()
    every = list_tickets(api)
    assert [t["id"] for t in every] == [OPEN_TICKET, CLOSED_TICKET, ANSWERED_TICKET]
    assert all("department_slug" in t and "messages" not in t for t in every)
    assert [t["id"] for t in list_tickets(api, status="closed")] == [CLOSED_TICKET]
    assert [t["id"] for t in list_tickets(api, department_slug="vps")] == [OPEN_TICKET, ANSWERED_TICKET]
    assert [e["query"] for e in sim.log()] == [
        {"limit": "100"}, {"status": "closed", "limit": "100"}, {"departmentSlug": "vps", "limit": "100"}]

# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""request_port25_unblock against the simulator: every HTTP call a scenario makes, and what it returns."""

from __future__ import annotations

import re

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupApiError, HostupInputError
from ansible_collections.hostup.cloud.plugins.module_utils._port25 import request_port25_unblock

PORT25 = "/api/v2/support/port25-requests"
VPS_LIST = "/api/v2/vps"
MAIL01 = "vps_01hmail0000000000000000001"
WEB01 = "vps_01hweb00000000000000000001"
MAIL_NEW = "vps_01hmailnew0000000000000001"
REASON = "Outbound mail for example.com; SPF, DKIM and DMARC are set up."
POST = ("POST", PORT25)
LIST = ("GET", VPS_LIST)


def filed_requests(sim):
    return sim.state()["port25_requests"]


def test_by_vps_id_one_post_and_nothing_else(sim, client):
    result = request_port25_unblock(client(), REASON, vps_id=MAIL01)
    assert sim.calls() == [POST]
    assert sim.log()[0]["body"] == {"vpsId": MAIL01, "reason": REASON}
    (stored,) = filed_requests(sim)
    assert result["changed"] is True and result["warnings"] == []
    record = result["port25_request"]
    assert record["id"] == stored["id"] and re.match(r"^p25_[0-9a-z]{26}$", record["id"])
    assert record["vps_id"] == MAIL01
    assert record["vps_name"] == "mail-01" and record["ip_address"] == "192.0.2.11"
    assert record["status"] == "pending" and record["reason"] == REASON
    assert record["requested_at"] == stored["requestedAt"] and record["resolved_at"] is None
    assert record["conflict_code"] is None
    assert result["diff"] == {"before": {}, "after": {"vps_id": MAIL01, "reason": REASON, "status": "pending"}}


@pytest.mark.parametrize("selector, query", [
    ({"vps_name": "mail-01"}, {"name": "mail-01"}),
    ({"ip_address": "192.0.2.11"}, {"primaryIp": "192.0.2.11"}),
])
def test_by_name_or_ip_one_get_then_one_post(sim, client, selector, query):
    result = request_port25_unblock(client(), REASON, **selector)
    log = sim.log()
    assert [(e["method"], e["path"]) for e in log] == [LIST, POST]
    assert {k: v for k, v in log[0]["query"].items() if k != "limit"} == query
    assert log[1]["body"] == {"vpsId": MAIL01, "reason": REASON}
    assert result["changed"] is True
    assert result["port25_request"]["vps_id"] == MAIL01
    assert len(filed_requests(sim)) == 1


def test_a_second_run_is_not_a_change(sim, client):
    request_port25_unblock(client(), REASON, vps_name="mail-01")
    result = request_port25_unblock(client(), REASON, vps_name="mail-01")
    assert sim.statuses() == [200, 201, 200, 409]
    assert result["changed"] is False and result["warnings"] == []
    assert result["port25_request"] == {
        "id": None, "vps_id": MAIL01, "vps_name": "mail-01", "ip_address": "192.0.2.11", "status": "pending",
        "reason": None, "requested_at": None, "resolved_at": None, "conflict_code": "port25_request_pending"}
    assert result["diff"] == {"before": {}, "after": {}}
    assert len(filed_requests(sim)) == 1


def test_an_approved_request_is_also_not_a_change(sim, client):
    first = request_port25_unblock(client(), REASON, vps_id=MAIL01)
    sim.admin("POST", "/_sim/port25/%s/approve" % first["port25_request"]["id"])
    again = request_port25_unblock(client(), REASON, vps_id=MAIL01)
    assert again["changed"] is False
    assert again["port25_request"]["conflict_code"] == "port25_request_exists"


@pytest.mark.parametrize("selector, expected_calls", [
    ({"vps_id": MAIL01}, []),
    ({"vps_name": "mail-01"}, [LIST]),
    ({"ip_address": "192.0.2.11"}, [LIST]),
])
def test_check_mode_sends_no_post(sim, client, selector, expected_calls):
    result = request_port25_unblock(client(), REASON, check_mode=True, **selector)
    assert sim.calls() == expected_calls
    assert filed_requests(sim) == []
    assert result["changed"] is True
    assert result["diff"] == {"before": {}, "after": {"vps_id": MAIL01, "reason": REASON, "status": "pending"}}
    assert result["port25_request"]["vps_id"] == MAIL01 and result["port25_request"]["status"] == "pending"


def test_a_name_matching_only_ignoring_case_fails_and_lists_the_candidates(sim, client):
    with pytest.raises(HostupInputError) as info:
        request_port25_unblock(client(), REASON, vps_name="mail-case")
    assert str(info.value) == (
        "no VPS is named exactly 'mail-case'; names differing only in case: "
        "vps_01hmailcase000000000000001 (name Mail-Case, primary IP 192.0.2.15)")
    assert sim.calls() == [LIST]


def test_the_exact_name_wins_over_case_variants(sim, client):
    result = request_port25_unblock(client(), REASON, vps_name="Mail-Case")
    assert result["port25_request"]["vps_id"] == "vps_01hmailcase000000000000001"
    assert sim.calls() == [LIST, POST]


def test_a_shared_name_fails_and_lists_both_candidates(sim, client):
    with pytest.raises(HostupInputError) as info:
        request_port25_unblock(client(), REASON, vps_name="dup-name")
    assert str(info.value) == (
        "2 VPSes are named 'dup-name'; use vps_id to pick one: "
        "vps_01hdupname0000000000000001 (name dup-name, primary IP 192.0.2.31); "
        "vps_01hdupname0000000000000002 (name dup-name, primary IP 192.0.2.32)")
    assert sim.calls() == [LIST]


@pytest.mark.parametrize("selector, message", [
    ({"vps_name": "no-such-vps"}, "no VPS named 'no-such-vps' in this account"),
    ({"ip_address": "192.0.2.99"}, "no VPS with primary IP 192.0.2.99 in this account"),
])
def test_no_match_says_no_vps(sim, client, selector, message):
    with pytest.raises(HostupInputError, match="^%s$" % re.escape(message)):
        request_port25_unblock(client(), REASON, **selector)
    assert sim.calls() == [LIST]


def test_an_unknown_vps_id_is_the_posts_404(sim, client, clock):
    with pytest.raises(HostupApiError) as info:
        request_port25_unblock(client(), REASON, vps_id="vps_doesnotexist")
    error = info.value
    assert error.status == 404 and error.code == "vps_not_found"
    assert str(error).startswith("POST %s failed: HTTP 404 vps_not_found: No VPS matching the given ID was found." % PORT25)
    assert sim.calls() == [POST] and clock.sleeps == []


def test_requirements_not_met_explains_bankid_and_billing(sim, client):
    with pytest.raises(HostupApiError) as info:
        request_port25_unblock(client(), REASON, vps_id=WEB01)
    assert info.value.code == "port25_requirements_not_met"
    assert "HostUp accepts port 25 requests only from accounts verified with BankID, or for a VPS prepaid " \
           "annually or longer" in str(info.value)
    assert sim.calls() == [POST] and filed_requests(sim) == []


def test_a_read_only_key_is_told_it_needs_write_support(sim, client):
    with pytest.raises(HostupApiError, match="This call needs an API key with the write:support scope"):
        request_port25_unblock(client(api_key="sim-readonly-key"), REASON, vps_id=MAIL01)
    assert filed_requests(sim) == []


def test_a_provisioning_vps_is_retried_until_ready(sim, client, clock):
    # mail-new answers vps_not_ready twice, then is running.
    result = request_port25_unblock(client(), REASON, vps_name="mail-new", wait_timeout=600)
    assert sim.calls() == [LIST, POST, POST, POST]
    assert sim.statuses() == [200, 409, 409, 201]
    assert clock.sleeps == [1.0, 2.0]
    assert result["changed"] is True and result["port25_request"]["vps_id"] == MAIL_NEW
    assert len(filed_requests(sim)) == 1


def test_a_vps_that_never_becomes_ready_fails_after_wait_timeout(sim, client, clock):
    sim.patch_vps(MAIL_NEW, {"readyAfterAttempts": None})  # provisioning until told otherwise
    with pytest.raises(HostupApiError) as info:
        request_port25_unblock(client(), REASON, vps_id=MAIL_NEW, wait_timeout=10)
    # Waits double from 1 s and the last one is cut to what is left of the 10 s.
    assert clock.sleeps == [1.0, 2.0, 4.0, 3.0]
    assert sim.calls() == [POST] * 5
    assert info.value.code == "vps_not_ready"
    assert "the VPS never became ready within wait_timeout (10s)" in str(info.value)
    assert filed_requests(sim) == []


def test_wait_timeout_zero_fails_at_the_first_not_ready(sim, client, clock):
    with pytest.raises(HostupApiError, match="never became ready within wait_timeout \\(0s\\)"):
        request_port25_unblock(client(), REASON, vps_id=MAIL_NEW, wait_timeout=0)
    assert sim.calls() == [POST] and clock.sleeps == []


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", None])
def test_a_blank_reason_is_rejected_before_any_request(sim, client, reason):
    with pytest.raises(HostupInputError, match="^reason must be a non-empty text"):
        request_port25_unblock(client(), reason, vps_name="mail-01")
    assert sim.log() == []


@pytest.mark.parametrize("selectors", [{}, {"vps_id": MAIL01, "vps_name": "mail-01"},
                                       {"vps_name": "mail-01", "ip_address": "192.0.2.11"}])
def test_exactly_one_selector_is_required(sim, client, selectors):
    with pytest.raises(HostupInputError, match="^exactly one of vps_id, vps_name or ip_address is required"):
        request_port25_unblock(client(), REASON, **selectors)
    assert sim.log() == []


def test_a_bad_vps_id_is_rejected_before_any_request(sim, client):
    with pytest.raises(HostupInputError, match="^invalid id"):
        request_port25_unblock(client(), REASON, vps_id="../vps")
    assert sim.log() == []


def test_an_ambiguous_gateway_error_then_409_is_a_change_with_a_warning(sim, client, clock):
    # The first POST is applied by HostUp but the answer is lost behind a 502; the retry finds it pending.
    sim.fault(method="POST", path=PORT25, status=502, apply=True, count=1)
    result = request_port25_unblock(client(), REASON, vps_id=MAIL01)
    assert sim.calls() == [POST, POST] and sim.statuses() == [502, 409]
    assert len(clock.sleeps) == 1
    assert result["changed"] is True
    (warning,) = result["warnings"]
    assert "the first attempt probably filed it" in warning and MAIL01 in warning
    assert result["port25_request"]["conflict_code"] == "port25_request_pending"
    assert result["diff"]["after"] == {"vps_id": MAIL01, "reason": REASON, "status": "pending"}
    assert len(filed_requests(sim)) == 1


def test_a_gateway_error_without_effect_is_retried_and_files_once(sim, client, clock):
    sim.fault(method="POST", path=PORT25, status=503, count=1)
    result = request_port25_unblock(client(), REASON, vps_id=MAIL01)
    assert sim.statuses() == [503, 201]
    assert result["changed"] is True and result["warnings"] == []
    assert len(filed_requests(sim)) == 1

# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""request_port25_unblock against the simulator: every HTTP call a scenario makes, and what it returns."""

from __future__ import annotations

import re

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupApiError, HostupInputError
from ansible_collections.hostup.cloud.plugins.module_utils._port25 import (
    Port25DecisionError,
    port25_info,
    read_port25_account,
    request_port25_unblock,
)

PORT25 = "/api/v2/support/port25-requests"
VPS_LIST = "/api/v2/vps"
MAIL01 = "vps_01hmail0000000000000000001"
WEB01 = "vps_01hweb00000000000000000001"
MAIL_NEW = "vps_01hmailnew0000000000000001"
REASON = "Outbound mail for example.com; SPF, DKIM and DMARC are set up."
LEGACY = "/api/port25/requests"
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
    ({"vps_id": MAIL01}, [("GET", VPS_LIST + "/" + MAIL01), ("GET", LEGACY)]),
    ({"vps_name": "mail-01"}, [LIST, ("GET", LEGACY)]),
    ({"ip_address": "192.0.2.11"}, [LIST, ("GET", LEGACY)]),
])
def test_check_mode_sends_no_post(sim, client, selector, expected_calls):
    result = request_port25_unblock(client(), REASON, check_mode=True, **selector)
    assert sim.calls() == expected_calls
    assert filed_requests(sim) == []
    assert result["changed"] is True and result["port25_state"] == "none"
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


# -- the port 25 state, read from the legacy endpoint --------------------------------------------------------

READ = ("GET", LEGACY)
MAIL02 = "vps_01hmail0000000000000000002"


def file_request(sim, client, vps_id=MAIL01):
    """File a request the normal way and forget the calls it made; return its p25_ id."""
    record = request_port25_unblock(client(), REASON, vps_id=vps_id)["port25_request"]
    sim.admin("DELETE", "/_sim/log")
    return record["id"]


def test_the_simulator_serves_the_legacy_shape_consistent_with_v2(sim, client):
    p25_id = file_request(sim, client)
    sim.admin("POST", "/_sim/port25/%s/approve" % p25_id, {"reason": "Looks fine"})
    answer = client().get(LEGACY)
    assert answer["success"] is True and set(answer["data"]) == {"requests", "whitelist"}
    (request,) = answer["data"]["requests"]
    assert isinstance(request["id"], int) and request["ipAddress"] == "192.0.2.11/32"
    assert request["status"] == "approved" and request["decisionReason"] == "Looks fine"
    assert request["justification"] == REASON and request["serviceName"] == "mail-01"
    assert request["autoApproved"] is False and isinstance(request["serviceId"], int)
    (entry,) = answer["data"]["whitelist"]
    assert entry["ipAddress"] == "192.0.2.11/32" and entry["serviceId"] == request["serviceId"]


def test_the_simulator_accepts_the_legacy_x_api_key_header_only_on_legacy_paths(sim):
    import json as _json
    import urllib.error
    import urllib.request

    def status(path):
        request = urllib.request.Request(sim.url + path, headers={"X-API-Key": "sim-demo-key"})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                _json.loads(answer.read())
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert status(LEGACY) == 200
    assert status(VPS_LIST) == 401


def test_no_request_is_state_none_with_one_get(sim, client):
    result = port25_info(client(), ip_address="192.0.2.11")
    assert sim.calls() == [READ]
    report = result["port25"]
    assert report["available"] is True and report["state"] == "none" and result["warnings"] == []
    assert report["requests"] == [] and report["whitelist"] == []
    assert report["ip_states"] == {"192.0.2.11": {"state": "none", "decision_reason": None, "request_id": None,
                                                  "updated_at": None}}


def test_a_filed_request_is_pending_by_vps_name(sim, client):
    file_request(sim, client)
    report = port25_info(client(), vps_name="mail-01")["port25"]
    assert sim.calls() == [LIST, READ]
    assert report["state"] == "pending" and report["vps_id"] == MAIL01 and report["ip_address"] == "192.0.2.11"
    (request,) = report["requests"]
    assert request["status"] == "pending" and request["ip_address"] == "192.0.2.11/32"
    assert request["justification"] == REASON and "ipAddress" not in request


def test_by_vps_id_the_vps_is_read_for_its_address(sim, client):
    file_request(sim, client, MAIL02)
    report = port25_info(client(), vps_id=MAIL02)["port25"]
    assert sim.calls() == [("GET", VPS_LIST + "/" + MAIL02), READ]
    assert report["state"] == "pending" and report["ip_address"] == "192.0.2.12"


def test_an_approved_request_is_unblocked_and_whitelisted(sim, client):
    p25_id = file_request(sim, client)
    sim.admin("POST", "/_sim/port25/%s/approve" % p25_id)
    report = port25_info(client(), ip_address="192.0.2.11")["port25"]
    assert report["state"] == "unblocked"
    assert [entry["ip_address"] for entry in report["whitelist"]] == ["192.0.2.11/32"]


def test_a_rejected_request_carries_hostups_reason(sim, client):
    p25_id = file_request(sim, client)
    sim.admin("POST", "/_sim/port25/%s/reject" % p25_id, {"reason": "Account too new for outbound SMTP"})
    report = port25_info(client(), ip_address="192.0.2.11")["port25"]
    assert report["state"] == "rejected"
    assert report["decision_reason"] == "Account too new for outbound SMTP"


def test_the_newest_request_is_the_state(sim, client):
    p25_id = file_request(sim, client)
    sim.admin("POST", "/_sim/port25/%s/reject" % p25_id, {"reason": "Explain the use"})
    file_request(sim, client)  # a rejected request does not block a new one
    report = port25_info(client(), ip_address="192.0.2.11")["port25"]
    assert report["state"] == "pending" and report["decision_reason"] is None
    assert [request["status"] for request in report["requests"]] == ["pending", "rejected"]


def test_a_whitelisted_address_is_unblocked_whatever_its_requests_say(sim, client):
    p25_id = file_request(sim, client)
    sim.admin("POST", "/_sim/port25/%s/reject" % p25_id, {"reason": "No"})
    sim.admin("POST", "/_sim/port25/whitelist", {"ip_address": "192.0.2.11", "notes": "set up by hand"})
    report = port25_info(client(), ip_address="192.0.2.11")["port25"]
    assert report["state"] == "unblocked" and report["decision_reason"] == "No"


def test_the_account_and_several_addresses_in_one_read(sim, client):
    file_request(sim, client)
    p25_id = file_request(sim, client, MAIL02)
    sim.admin("POST", "/_sim/port25/%s/approve" % p25_id)
    account = port25_info(client())["port25"]
    assert account["state"] is None and len(account["requests"]) == 2
    assert {ip: item["state"] for ip, item in account["ip_states"].items()} == {
        "192.0.2.11": "pending", "192.0.2.12": "unblocked"}
    some = port25_info(client(), ip_addresses=["192.0.2.12", "192.0.2.13"])["port25"]
    assert {ip: item["state"] for ip, item in some["ip_states"].items()} == {
        "192.0.2.12": "unblocked", "192.0.2.13": "none"}
    assert some["counts"] == {"unblocked": 1, "pending": 0, "rejected": 0, "none": 1, "unknown": 0}
    assert sim.calls() == [READ, READ]


UNAVAILABLE = [
    ({"status": 401}, "HTTP 401 unauthorized"),
    ({"status": 403}, "HTTP 403 forbidden"),
    ({"status": 404}, "HTTP 404 not_found"),
    ({"status": 200, "content_type": "application/json", "body": {"success": True, "data": {"items": []}}},
     "unknown shape"),
    ({"status": 200, "content_type": "application/json", "body": {"requests": [1, 2], "whitelist": []}},
     "unknown shape"),
]


@pytest.mark.parametrize("fault, why", UNAVAILABLE)
def test_an_unavailable_endpoint_is_one_warning_and_state_unknown(sim, client, fault, why):
    sim.fault(method="GET", path=LEGACY, persist=True, **fault)
    result = port25_info(client(), ip_address="192.0.2.11")
    assert sim.calls() == [READ]
    assert result["port25"]["available"] is False and result["port25"]["state"] == "unknown"
    (warning,) = result["warnings"]
    assert "GET /api/port25/requests" in warning and why in warning and "sim-demo-key" not in warning


def test_a_bare_answer_without_the_envelope_is_read_too(sim, client):
    sim.fault(method="GET", path=LEGACY, status=200, content_type="application/json",
              body={"requests": [{"id": 7, "ipAddress": "192.0.2.11", "status": "rejected",
                                  "decisionReason": "Nope", "createdAt": "2026-01-01T00:00:00.000Z"}],
                    "whitelist": []})
    account = read_port25_account(client())
    assert account.available and account.state_of("192.0.2.11")["state"] == "rejected"


def test_a_whitelisted_network_covers_its_addresses(sim, client):
    sim.fault(method="GET", path=LEGACY, status=200, content_type="application/json",
              body={"data": {"requests": [], "whitelist": [{"id": 1, "ipAddress": "192.0.2.8/29"}]}})
    account = read_port25_account(client())
    assert account.state_of("192.0.2.11")["state"] == "unblocked"
    assert account.state_of("192.0.2.21")["state"] == "none"


# -- check mode predicts from the state -----------------------------------------------------------------------

def test_check_mode_predicts_no_change_for_a_pending_vps(sim, client):
    file_request(sim, client)
    result = request_port25_unblock(client(), REASON, vps_id=MAIL01, check_mode=True)
    assert result["changed"] is False and result["port25_state"] == "pending"
    assert result["port25_request"]["status"] == "pending" and result["diff"] == {"before": {}, "after": {}}
    assert [method for method, path in sim.calls()] == ["GET", "GET"]


def test_check_mode_predicts_no_change_for_an_unblocked_vps(sim, client):
    sim.admin("POST", "/_sim/port25/whitelist", {"ip_address": "192.0.2.11"})
    result = request_port25_unblock(client(), REASON, ip_address="192.0.2.11", check_mode=True)
    assert result["changed"] is False and result["port25_request"]["status"] == "approved"
    assert filed_requests(sim) == []


def test_check_mode_predicts_a_new_filing_after_a_rejection(sim, client):
    p25_id = file_request(sim, client)
    sim.admin("POST", "/_sim/port25/%s/reject" % p25_id, {"reason": "Say more"})
    result = request_port25_unblock(client(), REASON, vps_id=MAIL01, check_mode=True)
    assert result["changed"] is True and result["port25_state"] == "rejected"
    assert len(filed_requests(sim)) == 1


def test_check_mode_without_the_state_predicts_a_filing_and_warns(sim, client):
    file_request(sim, client)
    sim.fault(method="GET", path=LEGACY, status=404, persist=True)
    result = request_port25_unblock(client(), REASON, vps_id=MAIL01, check_mode=True)
    assert result["changed"] is True and result["port25_state"] == "unknown"
    (warning,) = result["warnings"]
    assert "GET /api/port25/requests" in warning and "check mode predicts a filing" in warning


def test_without_waiting_a_409_for_an_unblocked_vps_is_only_the_post(sim, client):
    sim.admin("POST", "/_sim/port25/whitelist", {"ip_address": "192.0.2.11"})
    result = request_port25_unblock(client(), REASON, vps_id=MAIL01)
    assert sim.calls() == [POST]
    assert result["changed"] is False and result["port25_request"]["status"] == "pending"
    assert result["port25_request"]["conflict_code"] == "port25_request_exists"
    assert "port25_state" not in result


# -- waiting for HostUp's decision --------------------------------------------------------------------------

def test_waiting_until_approved(sim, client, clock):
    sim.admin("PUT", "/_sim/port25/auto_decide", {"after_reads": 2, "decision": "approve"})
    said = []
    api = client()
    api.progress = said.append
    result = request_port25_unblock(api, REASON, vps_id=MAIL01, wait_for_decision=True, decision_timeout=600)
    assert sim.calls() == [("GET", VPS_LIST + "/" + MAIL01), POST, READ, READ, READ]
    assert clock.sleeps == [5.0, 10.0]
    assert said == [
        "port 25 request for %s (192.0.2.11) still pending: checking again in 5 s, 600 s left of decision_timeout"
        % MAIL01,
        "port 25 request for %s (192.0.2.11) still pending: checking again in 10 s, 595 s left of decision_timeout"
        % MAIL01]
    assert result["changed"] is True and result["port25_state"] == "unblocked"
    record = result["port25_request"]
    assert record["status"] == "approved" and record["decision_reason"] == "Auto-approved via trust tier policy"
    assert record["id"].startswith("p25_") and record["resolved_at"]


def test_waiting_on_an_already_pending_request(sim, client, clock):
    file_request(sim, client)
    sim.admin("PUT", "/_sim/port25/auto_decide", {"after_reads": 1, "decision": "approve"})
    result = request_port25_unblock(client(), REASON, ip_address="192.0.2.11", wait_for_decision=True)
    assert sim.calls() == [LIST, POST, READ, READ]
    assert result["changed"] is False and result["port25_request"]["status"] == "approved"
    assert result["port25_request"]["conflict_code"] == "port25_request_pending"


def test_waiting_on_an_unblocked_vps_reports_approved_at_once(sim, client, clock):
    sim.admin("POST", "/_sim/port25/whitelist", {"ip_address": "192.0.2.11"})
    result = request_port25_unblock(client(), REASON, ip_address="192.0.2.11", wait_for_decision=True)
    assert sim.calls() == [LIST, POST, READ] and clock.sleeps == []
    assert result["changed"] is False and result["port25_request"]["status"] == "approved"


def test_a_rejection_while_waiting_fails_with_hostups_reason(sim, client, clock):
    rule = {"after_reads": 1, "decision": "reject", "reason": "Describe your bounce handling"}
    sim.admin("PUT", "/_sim/port25/auto_decide", rule)
    with pytest.raises(Port25DecisionError) as info:
        request_port25_unblock(client(), REASON, vps_id=MAIL01, wait_for_decision=True)
    assert str(info.value) == ("HostUp rejected the port 25 request for %s (192.0.2.11): Describe your bounce "
                               "handling" % MAIL01)
    extras = info.value.to_result()
    assert extras["changed"] is True and extras["port25_request"]["status"] == "rejected"
    assert clock.sleeps == [5.0]


def test_still_pending_at_the_timeout_fails_and_says_so(sim, client, clock):
    with pytest.raises(Port25DecisionError) as info:
        request_port25_unblock(client(), REASON, vps_id=MAIL01, wait_for_decision=True, decision_timeout=12)
    assert "is still pending after 12 s (decision_timeout)" in str(info.value)
    assert clock.sleeps == [5.0, 7.0]
    assert sim.calls().count(READ) == 3
    assert info.value.to_result()["port25_request"]["status"] == "pending"


def test_waiting_without_a_readable_state_fails(sim, client, clock):
    sim.fault(method="GET", path=LEGACY, status=403, persist=True)
    with pytest.raises(Port25DecisionError, match="cannot wait for HostUp's decision: GET /api/port25/requests "
                                                  "failed: HTTP 403 forbidden"):
        request_port25_unblock(client(), REASON, vps_id=MAIL01, wait_for_decision=True)
    assert len(filed_requests(sim)) == 1 and clock.sleeps == []


def test_auto_decide_after_seconds_zero_decides_at_the_first_read(sim, client, clock):
    sim.admin("PUT", "/_sim/port25/auto_decide", {"after_seconds": 0, "decision": "approve"})
    result = request_port25_unblock(client(), REASON, vps_id=MAIL01, wait_for_decision=True)
    assert result["port25_request"]["status"] == "approved" and clock.sleeps == []


def test_the_info_module_waits_for_every_address_asked_for(sim, client, clock):
    file_request(sim, client)
    file_request(sim, client, MAIL02)
    sim.admin("PUT", "/_sim/port25/auto_decide", {"after_reads": 1, "decision": "reject", "reason": "No"})
    result = port25_info(client(), ip_addresses=["192.0.2.11", "192.0.2.12", "192.0.2.13"], wait_for_decision=True)
    assert sim.calls() == [READ, READ] and clock.sleeps == [5.0]
    assert result["port25"]["timed_out"] is False
    assert result["port25"]["counts"]["rejected"] == 2 and result["port25"]["counts"]["none"] == 1


def test_the_info_module_fails_at_the_timeout_with_the_state(sim, client, clock):
    file_request(sim, client)
    with pytest.raises(Port25DecisionError) as info:
        port25_info(client(), wait_for_decision=True, decision_timeout=3)
    assert str(info.value) == ("still pending after 3 s (decision_timeout): the port 25 request for 192.0.2.11; "
                               "HostUp has not decided yet")
    assert info.value.to_result()["port25"]["timed_out"] is True


def test_info_refuses_what_is_not_an_address_before_any_request(sim, client):
    with pytest.raises(HostupInputError, match="is not an IP address"):
        port25_info(client(), ip_addresses=["mail-01"])
    assert sim.log() == []

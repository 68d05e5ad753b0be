# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""resolve_vps, get_vps and list_vps against the simulator."""

from __future__ import annotations

import pytest

from ansible_collections.hostup.cloud.plugins.module_utils._client import HostupApiError, HostupInputError
from ansible_collections.hostup.cloud.plugins.module_utils._vps import get_vps, list_vps, resolve_vps

VPS_LIST = "/api/v2/vps"
MAIL01 = "vps_01hmail0000000000000000001"
LIST = ("GET", VPS_LIST)


def test_resolving_by_id_sends_nothing(sim, client):
    assert resolve_vps(client(), vps_id=MAIL01) == {"id": MAIL01, "name": None, "primary_ip": None}
    assert sim.log() == []


@pytest.mark.parametrize("vps_id", ["../vps", "vps_a?b", "vps_a/b", "%2F", "vps a", "", "tkt_1", 7])
def test_resolving_a_bad_id_fails_before_any_request(sim, client, vps_id):
    with pytest.raises(HostupInputError, match="^invalid id .*a VPS id must look like vps_"):
        resolve_vps(client(), vps_id=vps_id)
    assert sim.log() == []


def test_resolving_by_name_uses_the_name_filter(sim, client):
    vps = resolve_vps(client(), vps_name="mail-02")
    assert vps["id"] == "vps_01hmail0000000000000000002" and vps["primary_ip"] == "192.0.2.12"
    log = sim.log()
    assert [(e["method"], e["path"]) for e in log] == [LIST]
    assert log[0]["query"]["name"] == "mail-02"


def test_resolving_by_ip_uses_the_primary_ip_filter(sim, client):
    vps = resolve_vps(client(), ip_address="192.0.2.21")
    assert vps["id"] == "vps_01hweb00000000000000000001" and vps["name"] == "web-01"
    assert sim.log()[0]["query"]["primaryIp"] == "192.0.2.21"


def test_resolving_by_name_reads_every_page(sim, client):
    # 150 VPSes share one name: the name filter answers two pages of 100, and both are read.
    sim.add_vps(150, prefix="fleet")
    state = sim.state()
    for vps in state["vps"]:
        if vps["name"].startswith("fleet-"):
            vps["name"] = "fleet"
    sim.admin("POST", "/_sim/reset", {"state": state})
    with pytest.raises(HostupInputError, match="^150 VPSes are named 'fleet'; use vps_id to pick one: "):
        resolve_vps(client(), vps_name="fleet")
    assert sim.calls() == [LIST, LIST]


@pytest.mark.parametrize("selector, message", [
    ({"vps_name": " "}, "vps_name must not be empty"),
    ({"ip_address": ""}, "ip_address must not be empty"),
    ({}, "one of vps_id, vps_name or ip_address is required"),
])
def test_resolving_with_nothing_usable_fails_before_any_request(sim, client, selector, message):
    with pytest.raises(HostupInputError, match="^%s$" % message):
        resolve_vps(client(), **selector)
    assert sim.log() == []


def test_get_vps_returns_snake_case_and_hides_simulator_fields(sim, client):
    vps = get_vps(client(), "vps_01hmailnew0000000000000001")
    assert vps["power_state"] == "provisioning" and vps["service_status"] == "active"
    assert "ready_after_attempts" not in vps and "readyAfterAttempts" not in vps
    assert sim.calls() == [("GET", VPS_LIST + "/vps_01hmailnew0000000000000001")]


def test_get_vps_is_none_for_an_unknown_id(sim, client):
    assert get_vps(client(), "vps_doesnotexist") is None
    assert sim.statuses() == [404]


def test_get_vps_raises_other_errors(sim, client):
    sim.fault(method="GET", path=VPS_LIST + "/" + MAIL01, status=500)
    with pytest.raises(HostupApiError, match="HTTP 500"):
        get_vps(client(), MAIL01)


def test_list_vps_pages_through_everything(sim, client):
    sim.add_vps(250)
    found = list_vps(client())
    assert len(found) == 258 and len({vps["id"] for vps in found}) == 258
    assert all("primary_ip" in vps and "primaryIp" not in vps for vps in found)
    log = sim.log()
    assert [(e["method"], e["path"]) for e in log] == [LIST] * 3
    assert [e["query"].get("limit") for e in log] == ["100"] * 3

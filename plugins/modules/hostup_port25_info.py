#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: hostup_port25_info
short_description: Tell whether HostUp has unblocked outbound SMTP (port 25) yet
version_added: 0.2.0
description:
  - Reads the port 25 state of the whole account, of one VPS (O(vps_id), O(vps_name)) or of some IP addresses
    (O(ip_address), O(ip_addresses)), with one C(GET /api/port25/requests).
  - That endpoint belongs to HostUp's older, unversioned API; the v2 API has no way to read port 25 requests.
    It lists every request of the account (with legacy integer ids) and the whitelist of addresses already
    allowed, so a VPS is matched by its primary IP address (a C(/32) suffix is ignored).
  - 'The state of an address is V(unblocked) when it is on the whitelist (whatever its requests say), else that of
    its newest request: V(pending), V(rejected) (with HostUp''s reason) or V(unblocked) for an approved one; V(none)
    when there is no request; V(unknown) when the endpoint could not be read.'
  - When the endpoint cannot be read (HTTP 401, 403 or 404, or an answer of unknown shape) the module warns once,
    naming the endpoint, and reports RV(port25.available=false) with every state V(unknown); it fails only with
    O(wait_for_decision).
  - The P(hostup.cloud.port25_unblock#role) role reads the state of a whole play with this module, once.
  - With O(vps_id) or O(vps_name) the VPS is read first (scope C(read:vm)) for its primary IP address; with
    O(ip_address) or O(ip_addresses) nothing but the port 25 read is sent. The scope the legacy endpoint needs is
    not documented; the key is sent as the legacy examples show it (C(X-API-Key) header) and as a bearer token
    (C(Authorization) header), to O(api_url) only.
author:
  - hostup.cloud maintainers (@hostup-cloud)
extends_documentation_fragment:
  - hostup.cloud.api
  - hostup.cloud.attributes
  - hostup.cloud.attributes.info_module
options:
  vps_id:
    description:
      - Public id of one VPS (V(vps_...)); read with C(GET /api/v2/vps/{id}) for its primary IP address.
      - At most one of O(vps_id), O(vps_name), O(ip_address) and O(ip_addresses); none means the whole account.
    type: str
  vps_name:
    description:
      - Display name of one VPS, compared exactly (case-sensitively), as M(hostup.cloud.hostup_port25_request) does.
    type: str
  ip_address:
    description:
      - The primary IP address of one VPS. No VPS is looked up.
    type: str
  ip_addresses:
    description:
      - Several addresses at once, for example every mail server of a play; RV(port25.ip_states) has one entry for
        each, V(none) included. Still one read.
    type: list
    elements: str
  wait_for_decision:
    description:
      - Read again, with growing pauses (5 s doubling up to 60 s), until none of the addresses is V(pending), or until
        O(decision_timeout). Without an address or VPS, every pending address of the account is waited for.
      - Each check is one line at C(-v). Fails when the endpoint cannot be read or the timeout passes while still
        pending; a rejection is reported, not a failure.
    type: bool
    default: false
  decision_timeout:
    description:
      - Seconds to wait with O(wait_for_decision).
    type: int
    default: 1800
seealso:
  - module: hostup.cloud.hostup_port25_request
  - name: HostUp legacy port 25 requests API
    description: The endpoint this module reads.
    link: https://developer.hostup.se/endpoints/general/get-port25-requests
"""

EXAMPLES = r"""
- name: Is port 25 open for the mail server yet?
  hostup.cloud.hostup_port25_info:
    vps_name: mail-01
  register: port25

- name: Say so
  ansible.builtin.debug:
    msg: "mail-01: {{ port25.port25.state }} {{ port25.port25.decision_reason or '' }}"

- name: Wait up to an hour for HostUp to decide on two addresses
  hostup.cloud.hostup_port25_info:
    ip_addresses: [192.0.2.11, 192.0.2.12]
    wait_for_decision: true
    decision_timeout: 3600
  register: decided

- name: The whole account at once
  hostup.cloud.hostup_port25_info:
  register: account
"""

RETURN = r"""
port25:
  description: The port 25 state that was read.
  returned: success, and failure after waiting
  type: dict
  contains:
    available:
      description: Whether the legacy endpoint could be read. When V(false) every state is V(unknown).
      type: bool
      returned: always
      sample: true
    state:
      description:
        - The state of the one VPS or address asked for (V(unblocked), V(pending), V(rejected), V(none) or
          V(unknown)); V(null) for the whole account or O(ip_addresses).
      type: str
      returned: always
      sample: pending
    decision_reason:
      description: HostUp's reason for the decision on the newest request of that VPS or address, when there is one.
      type: str
      returned: always
      sample: Auto-approved via trust tier policy
    vps_id:
      description: The VPS asked for by O(vps_id) or O(vps_name); V(null) otherwise.
      type: str
      returned: always
      sample: vps_01hxa3b4c5d6e7f8g9h0j1k2m3
    vps_name:
      description: Its display name; V(null) when no VPS was read.
      type: str
      returned: always
      sample: mail-01
    ip_address:
      description: The address whose state RV(port25.state) is; V(null) for the account or O(ip_addresses).
      type: str
      returned: always
      sample: 192.0.2.11
    requests:
      description:
        - The requests of the account, or those for the addresses asked for (newest first), with snake_case keys
          as the legacy endpoint names them.
      type: list
      elements: dict
      returned: always
      contains:
        id:
          description: Legacy integer id of the request.
          type: int
          returned: always
          sample: 4101
        ip_address:
          description: The address, as HostUp writes it (often with a C(/32) suffix).
          type: str
          returned: always
          sample: 192.0.2.11/32
        service_id:
          description: HostUp's legacy numeric id of the service (no documented link to V(vps_...) ids).
          type: raw
          returned: always
        service_name:
          description: Name of the service.
          type: str
          returned: always
        justification:
          description: The reason given with the request.
          type: str
          returned: always
        status:
          description: V(pending), V(approved) or V(rejected).
          type: str
          returned: always
        decision_reason:
          description: Why HostUp decided as it did; V(null) while pending.
          type: str
          returned: always
        auto_approved:
          description: Whether HostUp approved it automatically.
          type: bool
          returned: always
        created_at:
          description: When it was filed (ISO 8601).
          type: str
          returned: always
        updated_at:
          description: When it last changed (ISO 8601).
          type: str
          returned: always
    whitelist:
      description:
        - The whitelist entries (addresses already allowed) of the account, or those covering the addresses asked
          for, with snake_case keys (C(id), C(ip_address), C(service_id), C(service_name), C(notes), C(created_at),
          C(updated_at) and more).
      type: list
      elements: dict
      returned: always
    ip_states:
      description:
        - One entry per address (the ones asked for, or every single address the account's requests and whitelist
          name), keyed by the address, each with C(state), C(decision_reason), C(request_id) (legacy id of the newest
          request, or V(null)) and C(updated_at).
      type: dict
      returned: always
      sample: {"192.0.2.11": {"state": "pending", "decision_reason": null, "request_id": 4101,
                              "updated_at": "2026-06-03T03:25:00.000Z"}}
    counts:
      description: How many entries of RV(port25.ip_states) are in each state.
      type: dict
      returned: always
      sample: {"unblocked": 1, "pending": 1, "rejected": 0, "none": 0, "unknown": 0}
    timed_out:
      description: With O(wait_for_decision), whether O(decision_timeout) passed with an address still pending.
      type: bool
      returned: when O(wait_for_decision=true)
      sample: false
api_error:
  description: The API's RFC 7807 error document, when the VPS read failed.
  returned: failure
  type: dict
  contains:
    status:
      description: HTTP status.
      type: int
      returned: always
    code:
      description: HostUp's stable error code.
      type: str
      returned: always
    title:
      description: Short title.
      type: str
      returned: always
    detail:
      description: Human-readable detail.
      type: str
      returned: always
    request_id:
      description: HostUp's request id, for support.
      type: str
      returned: always
    errors:
      description: Field errors (C(pointer), C(detail), C(code)) for C(invalid_request).
      type: list
      elements: dict
      returned: always
"""

from ansible_collections.hostup.cloud.plugins.module_utils._module_support import ModuleInterface
from ansible_collections.hostup.cloud.plugins.module_utils._port25 import port25_info


def run_task(client, params, check_mode):
    """Read (and with wait_for_decision, poll) the port 25 state (see _port25.py)."""
    del check_mode  # only reads
    return port25_info(client, vps_id=params["vps_id"], vps_name=params["vps_name"],
                       ip_address=params["ip_address"], ip_addresses=params["ip_addresses"],
                       wait_for_decision=params["wait_for_decision"], decision_timeout=params["decision_timeout"])


INTERFACE = ModuleInterface(
    name="hostup.cloud.hostup_port25_info",
    options=dict(
        vps_id=dict(type="str"),
        vps_name=dict(type="str"),
        ip_address=dict(type="str"),
        ip_addresses=dict(type="list", elements="str"),
        wait_for_decision=dict(type="bool", default=False),
        decision_timeout=dict(type="int", default=1800),
    ),
    mutually_exclusive=[("vps_id", "vps_name", "ip_address", "ip_addresses")],
    run_task=run_task,
)


def main():
    INTERFACE.run_as_module()


if __name__ == "__main__":
    main()

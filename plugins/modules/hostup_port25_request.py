#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: hostup_port25_request
short_description: Ask HostUp to unblock outbound SMTP (port 25) for a VPS
version_added: 0.1.0
description:
  - Files an outbound SMTP port 25 unblock request for one VPS with
    C(POST /api/v2/support/port25-requests), unless a request for that VPS is already pending.
  - HostUp answers a second request for the same VPS with HTTP 409, which this module reports as
    C(changed=false), so a playbook can run it on every provisioning run. By default only that POST is sent
    (after a lookup when the VPS is given by name or IP address).
  - With O(wait_for_decision) the module waits until HostUp approves or rejects the request, reading the state
    as M(hostup.cloud.hostup_port25_info) does from HostUp's legacy endpoint C(GET /api/port25/requests) (the v2
    API cannot read requests). In check mode it reads that state too, to predict. Both match the VPS by its
    primary IP address, so a VPS given by O(vps_id) is read first (C(read:vm)).
  - HostUp accepts requests only from accounts verified with BankID, or for a VPS prepaid annually or longer.
  - Needs an API key with the C(write:support) scope, plus C(read:vm) when the VPS is given by name or IP address,
    or by id in check mode or with O(wait_for_decision).
author:
  - hostup.cloud maintainers (@hostup-cloud)
extends_documentation_fragment:
  - hostup.cloud.api
  - hostup.cloud.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the state from the legacy endpoint and predicts no change for a VPS whose address is
        unblocked or has a pending request, a filing otherwise (none yet, or rejected). It never sends the request.
      - When the legacy endpoint cannot be read, check mode warns and predicts a filing (C(changed=true)), which
        may be wrong for a VPS with a request already pending.
  diff_mode:
    support: full
  idempotent:
    support: full
    details:
      - A second run finds the pending request (HTTP 409) and reports no change.
      - A rejected request does not block a new one, so a run after a rejection files again.
  action_group:
    support: full
options:
  vps_id:
    description:
      - Public id of the VPS (V(vps_...)), as listed by M(hostup.cloud.hostup_vps_info).
      - With O(vps_id) the module sends exactly one request.
      - Exactly one of O(vps_id), O(vps_name) and O(ip_address) is required.
    type: str
  vps_name:
    description:
      - Display name of the VPS, compared exactly (case-sensitively).
      - When no name matches exactly but some differ only in case, the module fails and lists them.
    type: str
  ip_address:
    description:
      - Primary IP address of the VPS.
    type: str
  reason:
    description:
      - How the server will use outbound SMTP. HostUp support reads it when the request is not approved automatically.
      - Must not be empty. Tabs and line breaks are fine; other control characters (such as NUL or terminal
        escape sequences) are refused before any request, since the person reading the reason cannot see them.
    type: str
    required: true
  wait_timeout:
    description:
      - Seconds to keep trying while HostUp answers that the VPS is not ready yet (HTTP 409 C(vps_not_ready)),
        which is normal right after the VPS was ordered.
      - After that the module fails and says the VPS never became ready. V(0) tries once.
    type: int
    default: 600
  wait_for_decision:
    description:
      - After filing, or when a request is already pending, wait until HostUp decides, checking the state with
        growing pauses (5 s doubling up to 60 s; each check is one line at C(-v)).
      - Approved, the task succeeds with RV(port25_request.status=approved). Rejected, it fails with HostUp's
        reason. Still pending after O(decision_timeout), it fails and says so. It also fails when the state cannot be
        read from the legacy endpoint.
      - A 409 for an address that is already unblocked reports V(approved) and no change.
    type: bool
    default: false
    version_added: 0.2.0
  decision_timeout:
    description:
      - Seconds to wait for HostUp's decision with O(wait_for_decision).
    type: int
    default: 1800
    version_added: 0.2.0
seealso:
  - module: hostup.cloud.hostup_port25_info
  - module: hostup.cloud.hostup_ticket_state
  - module: hostup.cloud.hostup_vps_info
  - name: HostUp port 25 request API
    description: The endpoint this module calls.
    link: https://developer.hostup.se/endpoints/support/post-v2-support-port25-requests
"""

EXAMPLES = r"""
- name: Ask HostUp to unblock port 25 for the mail server
  hostup.cloud.hostup_port25_request:
    vps_id: vps_01hxa3b4c5d6e7f8g9h0j1k2m3
    reason: >-
      Transactional mail for example.com from authenticated users, with bounce handling
      and abuse monitoring.

- name: Find the VPS by its primary IP instead of its id
  hostup.cloud.hostup_port25_request:
    ip_address: 192.0.2.10
    reason: Outbound mail for example.org (Postfix, DKIM signed, rate limited).
  register: port25

- name: Tell whether HostUp has decided yet
  ansible.builtin.debug:
    msg: "Port 25 request for {{ port25.port25_request.vps_id }} is {{ port25.port25_request.status }}"

- name: File the request and wait up to an hour until HostUp approves it
  hostup.cloud.hostup_port25_request:
    vps_name: mail-01
    reason: Outbound mail for example.org (Postfix, DKIM signed, rate limited).
    wait_for_decision: true
    decision_timeout: 3600
"""

RETURN = r"""
port25_request:
  description:
    - The port 25 request. After filing, as HostUp returned it.
    - When a request was already pending, only what is known (the VPS fields, RV(port25_request.status=pending)
      and RV(port25_request.conflict_code)); the other fields are V(null).
    - In check mode, the request the module would file, or (RV(port25_request.status=approved) or V(pending)) what
      is already there.
    - With O(wait_for_decision), the request as HostUp decided it (also when the task fails because HostUp
      rejected it or had not decided by O(decision_timeout)).
  returned: success, and failure after waiting for the decision
  type: dict
  contains:
    id:
      description: Public id of the request (V(p25_...)); V(null) when not filed by this run.
      type: str
      returned: success
      sample: p25_01hxa3b4c5d6e7f8g9h0j1k2m3
    vps_id:
      description: Public id of the VPS.
      type: str
      returned: success
      sample: vps_01hxa3b4c5d6e7f8g9h0j1k2m3
    vps_name:
      description: Display name of the VPS, when known.
      type: str
      returned: success
      sample: mail.example.com
    ip_address:
      description: The VPS IP address the request is for, when known.
      type: str
      returned: success
      sample: 203.0.113.10
    status:
      description:
        - V(pending), V(approved), V(rejected) or V(unknown).
        - Without O(wait_for_decision) and outside check mode a 409 always gives V(pending), even when port 25 is
          already open (C(conflict_code=port25_request_exists) tells that case apart).
      type: str
      returned: success
      sample: pending
    reason:
      description: The reason that was filed; V(null) when the request was already pending.
      type: str
      returned: success
    requested_at:
      description: When the request was filed (ISO 8601), when known.
      type: str
      returned: success
      sample: "2026-06-03T03:25:00.000Z"
    resolved_at:
      description: When HostUp decided, or V(null) while pending.
      type: str
      returned: success
    conflict_code:
      description:
        - The C(code) of HostUp's HTTP 409 answer when a request was already there, so that different
          conflicts can be told apart; V(null) otherwise.
      type: str
      returned: success
      sample: port25_request_pending
    decision_reason:
      description: HostUp's reason for its decision, from the legacy endpoint; V(null) while pending.
      type: str
      returned: in check mode and with O(wait_for_decision), when the state could be read
      sample: Auto-approved via trust tier policy
port25_state:
  description:
    - The port 25 state of the VPS's address as read from the legacy endpoint (V(unblocked), V(pending),
      V(rejected), V(none) or V(unknown)); in check mode before any filing, with O(wait_for_decision) after waiting.
  returned: in check mode and with O(wait_for_decision) (also on a failure after waiting)
  type: str
  sample: unblocked
api_error:
  description: The API's RFC 7807 error document, when an API call failed.
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
from ansible_collections.hostup.cloud.plugins.module_utils._port25 import request_port25_unblock


def run_task(client, params, check_mode):
    """File the request unless one is pending (see _port25.py)."""
    return request_port25_unblock(client, reason=params["reason"], vps_id=params["vps_id"],
                                  vps_name=params["vps_name"], ip_address=params["ip_address"],
                                  wait_timeout=params["wait_timeout"], check_mode=check_mode,
                                  wait_for_decision=params["wait_for_decision"],
                                  decision_timeout=params["decision_timeout"])


INTERFACE = ModuleInterface(
    name="hostup.cloud.hostup_port25_request",
    options=dict(
        vps_id=dict(type="str"),
        vps_name=dict(type="str"),
        ip_address=dict(type="str"),
        reason=dict(type="str", required=True),
        wait_timeout=dict(type="int", default=600),
        wait_for_decision=dict(type="bool", default=False),
        decision_timeout=dict(type="int", default=1800),
    ),
    mutually_exclusive=[("vps_id", "vps_name", "ip_address")],
    required_one_of=[("vps_id", "vps_name", "ip_address")],
    run_task=run_task,
)


def main():
    INTERFACE.run_as_module()


if __name__ == "__main__":
    main()

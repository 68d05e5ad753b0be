#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: hostup_ticket_state
short_description: Reopen or close a HostUp support ticket
version_added: 0.1.0
description:
  - Puts a support ticket in the open or the closed state.
  - Reads the ticket first and calls the reopen or close action only when the ticket is not already in the
    wanted state. The statuses C(open), C(answered), C(customer_reply), C(in_progress) and C(on_hold) count as open.
  - A ticket whose status is C(unknown) (or any status HostUp has not documented) is left alone and the task fails.
  - Needs an API key with the C(read:support) and C(write:support) scopes.
author:
  - hostup.cloud maintainers (@hostup-cloud)
extends_documentation_fragment:
  - hostup.cloud.api
  - hostup.cloud.attributes
attributes:
  check_mode:
    support: full
    details:
      - Sends only the read; returns the ticket with the status it would reach.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  id:
    description:
      - Public ticket id (V(tkt_...)) or the numeric ticket number.
    type: str
    required: true
  state:
    description:
      - V(open) reopens a closed ticket; V(closed) closes an open one.
    type: str
    choices: [open, closed]
    default: open
seealso:
  - module: hostup.cloud.hostup_ticket_info
  - module: hostup.cloud.hostup_port25_request
  - name: HostUp reopen action
    description: The reopen endpoint.
    link: https://developer.hostup.se/endpoints/support/post-v2-support-tickets-id-actions-reopen
"""

EXAMPLES = r"""
- name: Close the ticket once the mail server works
  hostup.cloud.hostup_ticket_state:
    id: tkt_01hxa3b4c5d6e7f8g9h0j1k2m3
    state: closed

- name: Reopen a ticket by its number
  hostup.cloud.hostup_ticket_state:
    id: "149943"
    state: open
"""

RETURN = r"""
ticket:
  description:
    - The ticket detail with snake_case keys, as HostUp returned it after the change (or as it is, when
      nothing changed). In check mode, the ticket with the status it would reach.
  returned: success
  type: dict
  contains:
    id:
      description: Public ticket id.
      type: str
      returned: always
      sample: tkt_01hxa3b4c5d6e7f8g9h0j1k2m3
    number:
      description: Customer-facing ticket number.
      type: str
      returned: always
      sample: "149943"
    subject:
      description: Subject.
      type: str
      returned: always
    status:
      description: V(open), V(answered), V(customer_reply), V(in_progress), V(on_hold) or V(closed).
      type: str
      returned: always
      sample: closed
    priority:
      description: V(low), V(medium), V(high), V(urgent) or V(critical).
      type: str
      returned: always
    department_slug:
      description: Department slug.
      type: str
      returned: always
      sample: vps
    department_name:
      description: Department name.
      type: str
      returned: always
    created_at:
      description: When the ticket was opened (ISO 8601).
      type: str
      returned: always
    updated_at:
      description: Last change (ISO 8601).
      type: str
      returned: always
    last_message_at:
      description: Last message (ISO 8601).
      type: str
      returned: always
    body:
      description: The opening message.
      type: str
      returned: when HostUp returns it
    cc_emails:
      description: Addresses in copy.
      type: list
      elements: str
      returned: when HostUp returns it
    requester_name:
      description: Who opened the ticket.
      type: str
      returned: when HostUp returns it
    message_count:
      description: Number of messages.
      type: int
      returned: when HostUp returns it
    linked_services:
      description: Services linked to the ticket.
      type: list
      elements: dict
      returned: when HostUp returns it
    attachments:
      description: Attachments of the opening message.
      type: list
      elements: dict
      returned: when HostUp returns it
    messages:
      description: The conversation.
      type: list
      elements: dict
      returned: when HostUp returns it
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
      description: Field errors for C(invalid_request).
      type: list
      elements: dict
      returned: always
"""

from ansible_collections.hostup.cloud.plugins.module_utils._module_support import ModuleInterface
from ansible_collections.hostup.cloud.plugins.module_utils._tickets import set_ticket_state


def run_task(client, params, check_mode):
    """Reopen or close the ticket unless it is already in the wanted state (see _tickets.py)."""
    return set_ticket_state(client, ticket_id=params["id"], state=params["state"], check_mode=check_mode)


INTERFACE = ModuleInterface(
    name="hostup.cloud.hostup_ticket_state",
    options=dict(
        id=dict(type="str", required=True),
        state=dict(type="str", choices=["open", "closed"], default="open"),
    ),
    run_task=run_task,
)


def main():
    INTERFACE.run_as_module()


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Integration test of hostup.cloud.hostup_ticket_info against the HostUp API simulator.
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

# Replace the simulator's state with its default state plus 120 generated tickets (numbers
# 150000-150119), so that lists take more than one page of 100: statuses cycle through all six;
# the first 105 belong to the vps department, the rest to billing.
"${HOSTUP_SIM_PYTHON}" -c '
import json, sys, urllib.request
with open(sys.argv[1]) as handle:
    state = json.load(handle)
statuses = ["open", "answered", "customer_reply", "in_progress", "on_hold", "closed"]
for index in range(120):
    ticket_id = "tkt_01hgenerated%013d" % index
    department = "vps" if index < 105 else "billing"
    state["tickets"].append({
        "id": ticket_id,
        "number": str(150000 + index),
        "subject": "Generated ticket %d" % index,
        "body": "Generated for the paging test.",
        "status": statuses[index % len(statuses)],
        "priority": "low",
        "departmentSlug": department,
        "departmentName": "VPS" if department == "vps" else "Billing",
        "createdAt": "2026-05-01T10:00:00.000Z",
        "updatedAt": "2026-05-01T10:00:00.000Z",
        "lastMessageAt": "2026-05-01T10:00:00.000Z",
        "ccEmails": [],
        "requesterName": "Jane Example",
        "messageCount": 1,
        "linkedServices": [],
        "attachments": [],
        "messages": [{"id": "tmsg_01hgenerated%013d" % index, "ticketId": ticket_id,
                      "sentAt": "2026-05-01T10:00:00.000Z", "body": "Generated for the paging test.",
                      "sender": "customer", "senderName": "Jane Example", "encrypted": False,
                      "attachments": []}],
    })
request = urllib.request.Request(sys.argv[2] + "/_sim/reset", method="POST",
                                 data=json.dumps({"state": state}).encode(),
                                 headers={"Content-Type": "application/json"})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
opener.open(request, timeout=10).read()
' "$(hostup_sim_collection_root)/tests/simulator/default_state.json" "${HOSTUP_SIM_URL}"

ansible-playbook -i inventory -e "hostup_sim_url=${HOSTUP_SIM_URL}" "$@" ticket_info.yml

#!/usr/bin/env bash
# The example playbooks under playbooks/: each passes ansible-playbook --syntax-check, and the two
# that need no managed host run against the HostUp API simulator (check mode first).
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
playbooks="$(hostup_sim_collection_root)/playbooks"

ansible-playbook --syntax-check -i "${playbooks}/inventory/demo_simulator.yml" \
    "${playbooks}/mail_server.yml" "${playbooks}/port25_unblock.yml" "${playbooks}/ticket_state.yml"

hostup_sim_start
export HOSTUP_API_KEY=sim-demo-key HOSTUP_API_URL="${HOSTUP_SIM_URL}"
out="${HOSTUP_SIM_DIR}/ansible-playbook.out"

# sim_check EXPRESSION: assert a Python expression over the simulator's `state` and request `log`.
sim_check() {
    "${HOSTUP_SIM_PYTHON}" -c '
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
state = json.load(opener.open(sys.argv[1] + "/_sim/state", timeout=10))
log = json.load(opener.open(sys.argv[1] + "/_sim/log", timeout=10))["requests"]
assert eval(sys.argv[2]), sys.argv[2]
' "${HOSTUP_SIM_URL}" "$1"
}

# ticket_state.yml in check mode predicts the close of open ticket 149943 and changes nothing ...
ansible-playbook "$@" --check "${playbooks}/ticket_state.yml" -e ticket_id=149943 -e ticket_state=closed | tee "${out}"
grep -qF '"msg": "Ticket 149943 (tkt_01hticket00000000000000001) is closed"' "${out}"
grep -qE '^localhost +: ok=2 +changed=1 +unreachable=0 +failed=0 ' "${out}"
sim_check '[t["status"] for t in state["tickets"]] == ["open", "closed", "answered"]'
sim_check '[r["method"] for r in log] == ["GET"]'

# ... and in check mode finds closed ticket 149944 already closed.
ansible-playbook "$@" --check "${playbooks}/ticket_state.yml" -e ticket_id=149944 -e ticket_state=closed | tee "${out}"
grep -qF '"msg": "Ticket 149944 (tkt_01hticket00000000000000002) is closed"' "${out}"
grep -qE '^localhost +: ok=2 +changed=0 +unreachable=0 +failed=0 ' "${out}"

# For real, it closes 149943 with one POST.
ansible-playbook "$@" "${playbooks}/ticket_state.yml" -e ticket_id=149943 -e ticket_state=closed | tee "${out}"
grep -qE '^localhost +: ok=2 +changed=1 +unreachable=0 +failed=0 ' "${out}"
sim_check '[t["status"] for t in state["tickets"]] == ["closed", "closed", "answered"]'
sim_check '[r["path"] for r in log if r["method"] != "GET"] == ["/api/v2/support/tickets/149943/actions/close"]'

# port25_unblock.yml in check mode with the demo inventory: the role reads the account's port 25 state
# once, skips the request task and says in its summary that three requests would be filed; it sends
# nothing else, so no host changes.
hostup_sim_admin DELETE /_sim/log >/dev/null
ansible-playbook "$@" --check -i "${playbooks}/inventory/demo_simulator.yml" "${playbooks}/port25_unblock.yml" |
    tee "${out}"
grep -qF '"msg": "port25 (check mode): would file a port 25 request for 3 (mail-01, mail-02.example.net, mail-03), already pending 0, unblocked 0, failed 0"' "${out}"
for host in mail-01 mail-02.example.net mail-03; do
    grep -qE "^${host} +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 " "${out}"
done
sim_check '[(r["method"], r["path"], r["status"]) for r in log] == [("GET", "/api/port25/requests", 200)]'
sim_check 'state["port25_requests"] == []'

# For real, the three requests the check predicted are filed, one POST each ...
hostup_sim_admin DELETE /_sim/log >/dev/null
ansible-playbook "$@" -i "${playbooks}/inventory/demo_simulator.yml" "${playbooks}/port25_unblock.yml" | tee "${out}"
grep -qF '"msg": "port25: filed 3, already pending 0, unblocked 0, rejected 0, failed 0"' "${out}"
for host in mail-01 mail-02.example.net mail-03; do
    grep -qE "^${host} +: ok=[0-9]+ +changed=1 +unreachable=0 +failed=0 " "${out}"
done
sim_check '[r["status"] for r in log if r["method"] == "POST"] == [201, 201, 201]'
sim_check 'sorted(p["vpsId"] for p in state["port25_requests"]) == ["vps_01hmail000000000000000000%d" % n for n in (1, 2, 3)]'

# ... and a second run files nothing new: no host changes, and HostUp still holds one request per VPS.
hostup_sim_admin DELETE /_sim/log >/dev/null
ansible-playbook "$@" -i "${playbooks}/inventory/demo_simulator.yml" "${playbooks}/port25_unblock.yml" | tee "${out}"
grep -qF '"msg": "port25: filed 0, already pending 3, unblocked 0, rejected 0, failed 0"' "${out}"
for host in mail-01 mail-02.example.net mail-03; do
    grep -qE "^${host} +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 " "${out}"
done
sim_check '201 not in [r["status"] for r in log]'
sim_check 'len(state["port25_requests"]) == 3'

#!/usr/bin/env bash
# Integration test of the role hostup.cloud.port25_unblock against the HostUp API simulator:
# several hosts in one play with forks, idempotence, a host without a VPS, a rate-limited API,
# the argument spec, the connection options and the connection check.
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

# recap OUT HOST CHANGED FAILED: the PLAY RECAP line of HOST says so.
recap() {
    grep -qE "^$2 +: ok=[0-9]+ +changed=$3 +unreachable=0 +failed=$4 " "$1"
}

playbook=(ansible-playbook -f 5 -e "hostup_sim_url=${HOSTUP_SIM_URL}" "$@")
out="${HOSTUP_SIM_DIR}/ansible-playbook.out"

# --- Three mail servers and one without a VPS, in one play with forks -------------------------
# Each VPS gets its one request; the host without a VPS fails alone (so the run exits with 2).
rc=0
"${playbook[@]}" -i inventory.yml -i ghost.yml -e expect_filed=true unblock.yml | tee "${out}" || rc=$?
[ "${rc}" -eq 2 ]
for host in mail-01 mail-02.example.net mail-03; do
    recap "${out}" "${host}" 1 0
done
recap "${out}" ghost-mail 0 1
recap "${out}" localhost 0 0
grep -qF "no VPS named 'ghost-mail' in this account" "${out}"
grep -qF '"msg": "port25: filed 3, already pending 0, unblocked 0, rejected 0, failed 1 (ghost-mail)"' "${out}"

# The same play again: nothing changes (the simulator answers every POST with 409 pending).
hostup_sim_admin DELETE /_sim/log
rc=0
"${playbook[@]}" -i inventory.yml -i ghost.yml -e expect_filed=false unblock.yml | tee "${out}" || rc=$?
[ "${rc}" -eq 2 ]
for host in mail-01 mail-02.example.net mail-03; do
    recap "${out}" "${host}" 0 0
done
recap "${out}" ghost-mail 0 1
recap "${out}" localhost 0 0

# --- Fifteen hosts against a rate limit of 5 requests per 2 seconds -------------------------------
# Twelve more VPSes, known to the inventory by id, as the hostup.cloud.vps inventory plugin does it.
hostup_sim_admin POST /_sim/reset
hostup_sim_admin POST /_sim/vps/bulk '{"count": 12, "prefix": "fleet", "billingCycle": "annually"}' |
    "${HOSTUP_SIM_PYTHON}" -c '
import json, sys
hosts = {vps["name"]: {"hostup_vps_id": vps["id"], "test_vps_id": vps["id"]} for vps in json.load(sys.stdin)}
assert len(hosts) == 12, hosts
with open(sys.argv[1], "w") as inventory:
    json.dump({"mail_servers": {"hosts": hosts}}, inventory, indent=2)
' "${HOSTUP_SIM_DIR}/fleet.yml"
hostup_sim_admin PUT /_sim/rate_limit '{"requests": 5, "per_seconds": 2}'
"${playbook[@]}" -i inventory.yml -i "${HOSTUP_SIM_DIR}/fleet.yml" -e expect_filed=true -e expect_rate_limited=true \
    unblock.yml | tee "${out}"
[ "$(grep -cE '^[a-z0-9.-]+ +: ok=[0-9]+ +changed=[01] +unreachable=0 +failed=0 ' "${out}")" -eq 16 ]

# --- Role variables: argument spec, connection options ------------------------------------------
# (The reset also lifts the rate limit.)
hostup_sim_admin POST /_sim/reset
"${playbook[@]}" -i inventory.yml options.yml

# --- The connection check: skipped while pending, real once approved ---------------------------
hostup_sim_admin POST /_sim/reset
ports="${HOSTUP_SIM_DIR}/listener.ports"
# A TCP listener for the check, and a port nothing listens on (bound once, then released).
"${HOSTUP_SIM_PYTHON}" -c '
import os, socket, sys
released = socket.socket()
released.bind(("127.0.0.1", 0))
closed_port = released.getsockname()[1]
released.close()
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(sys.argv[1] + ".tmp", "w") as handle:
    handle.write("%d %d\n" % (listener.getsockname()[1], closed_port))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    listener.accept()[0].close()
' "${ports}" &
listener_pid=$!
trap 'kill "${listener_pid}" 2>/dev/null || true; hostup_sim_stop' EXIT
while [ ! -s "${ports}" ]; do
    kill -0 "${listener_pid}"
    sleep 0.05
done
read -r open_port closed_port <"${ports}"
"${playbook[@]}" -i inventory.yml -e "open_port=${open_port}" -e "closed_port=${closed_port}" verify.yml | tee "${out}"
# The summary said "filed" while pending, and "unblocked" after the approval (twice: closed, then open port).
[ "$(grep -c '"msg": "port25: filed 1, already pending 0, unblocked 0, rejected 0, failed 0"' "${out}")" -eq 1 ]
[ "$(grep -c '"msg": "port25: filed 0, already pending 0, unblocked 1, rejected 0, failed 0"' "${out}")" -eq 2 ]

# --- A fleet in every state: one state read, POSTs only where needed, one summary -------------------
# arrange.py adds ten VPSes, puts them in the states below through the API and the admin API, and
# writes an inventory naming each by its IP address (ansible_host):
#   fleet-001, -002 unblocked (whitelisted); -003 approved earlier; -004, -005 pending; -006 rejected;
#   -007 to -010 nothing yet. ghost.yml adds a host without a VPS, which fails.
kill "${listener_pid}" 2>/dev/null || true
trap hostup_sim_stop EXIT
hostup_sim_admin POST /_sim/reset
"${HOSTUP_SIM_PYTHON}" arrange.py "${HOSTUP_SIM_URL}" mixed "${HOSTUP_SIM_DIR}/mixed.json"
hostup_sim_admin DELETE /_sim/log
# Check mode first: it reads the state once and says what it would file, sending no POST.
"${playbook[@]}" --check -i "${HOSTUP_SIM_DIR}/mixed.json" -i ghost.yml -e expect=check mixed.yml | tee "${out}"
grep -qF '"msg": "port25 (check mode): would file a port 25 request for 6 (fleet-006, fleet-007, fleet-008, fleet-009, fleet-010, ghost-mail), already pending 2, unblocked 3, failed 0"' "${out}"
hostup_sim_admin DELETE /_sim/log
rc=0
"${playbook[@]}" -i "${HOSTUP_SIM_DIR}/mixed.json" -i ghost.yml -e expect=filed mixed.yml | tee "${out}" || rc=$?
[ "${rc}" -eq 2 ]
grep -qF '"msg": "port25: filed 5 (1 again after a rejection), already pending 2, unblocked 3, rejected 0, failed 1 (ghost-mail)"' "${out}"

# --- Waiting for HostUp's decision, once for the play -------------------------------------------
# Approved: HostUp (the simulator) decides once the state has been read with the request pending.
hostup_sim_admin POST /_sim/reset
hostup_sim_admin PUT /_sim/port25/auto_decide '{"after_reads": 1, "decision": "approve"}'
"${playbook[@]}" -v -i inventory.yml -e expect=approved wait.yml | tee "${out}"
grep -qF '"msg": "port25 after waiting for HostUp: unblocked 3, rejected 0, still pending 0, failed 0; filed now 3"' "${out}"
# One progress line per check, for the play rather than per host.
[ "$(grep -c '3 port 25 requests still pending (192.0.2.11, 192.0.2.12, 192.0.2.13): checking again in 5 s' "${out}")" -eq 1 ]
# Rejected, with HostUp's reason on the record.
hostup_sim_admin POST /_sim/reset
hostup_sim_admin PUT /_sim/port25/auto_decide '{"after_reads": 1, "decision": "reject", "reason": "Tell us about bounces"}'
"${playbook[@]}" -i inventory.yml -e expect=rejected wait.yml | tee "${out}"
grep -qF '"msg": "port25 after waiting for HostUp: unblocked 0, rejected 3 (mail-01, mail-02.example.net, mail-03), still pending 0, failed 0; filed now 3"' "${out}"
# Nobody decides: still pending at the timeout (2 s), reported rather than failed.
hostup_sim_admin POST /_sim/reset
"${playbook[@]}" -i inventory.yml -e expect=timeout -e decision_timeout=2 wait.yml | tee "${out}"
grep -qF '"msg": "port25 after waiting for HostUp: unblocked 0, rejected 0, still pending 3 (mail-01, mail-02.example.net, mail-03), failed 0; filed now 3"' "${out}"

# --- The default output on 50 hosts: per host only the request line --------------------------------
hostup_sim_admin POST /_sim/reset
"${HOSTUP_SIM_PYTHON}" arrange.py "${HOSTUP_SIM_URL}" plain50 "${HOSTUP_SIM_DIR}/fifty.json"
hostup_sim_admin DELETE /_sim/log
ANSIBLE_FORCE_COLOR=0 ansible-playbook -f 10 -e "hostup_sim_url=${HOSTUP_SIM_URL}" -i "${HOSTUP_SIM_DIR}/fifty.json" \
    fifty.yml >"${out}"
"${HOSTUP_SIM_PYTHON}" check_output.py "${out}" 50


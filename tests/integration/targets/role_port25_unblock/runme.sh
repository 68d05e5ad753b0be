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
grep -qF 'is pending HostUp review' "${out}"

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
# Said once, while pending; not after the approval.
[ "$(grep -c 'is pending HostUp review' "${out}")" -eq 1 ]
[ "$(grep -c 'The connection check is skipped' "${out}")" -eq 1 ]

#!/usr/bin/env bash
# Load: fifty hosts (forks 10) file the requests of fifty VPSes through the port25_unblock role under
# a rate limit of 10 requests per 5 seconds; then twenty hosts all name the same VPS. load.yml checks
# the results, the simulator's state and log, and the fleet play's wall time against the rate limit.
set -euo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

# Fifty fresh VPSes, each a host known by its VPS id (as the hostup.cloud.vps inventory plugin sets it).
fleet="${HOSTUP_SIM_DIR}/fleet.json"
hostup_sim_admin POST /_sim/vps/bulk '{"count": 50, "prefix": "load", "billingCycle": "annually"}' |
    "${HOSTUP_SIM_PYTHON}" -c '
import json, sys
hosts = {vps["name"]: {"hostup_vps_id": vps["id"]} for vps in json.load(sys.stdin)}
assert len(hosts) == 50, len(hosts)
group_vars = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
with open(sys.argv[1], "w") as inventory:
    json.dump({"fleet": {"hosts": hosts, "vars": group_vars}}, inventory, indent=1)
' "${fleet}"
hostup_sim_admin PUT /_sim/rate_limit '{"requests": 10, "per_seconds": 5}' >/dev/null

out="${HOSTUP_SIM_DIR}/output"
rc=0
ansible-playbook -f 10 -i "${fleet}" -i shared_vps.yml -e "hostup_sim_url=${HOSTUP_SIM_URL}" "$@" load.yml \
    >"${out}" 2>&1 || rc=$?
grep -E -e '^(TASK|PLAY) ' -e 'Fleet play:' -e 'fatal:' -e 'ERROR' "${out}" | grep -v -e '^TASK \[hostup' || true
sed -n '/PLAY RECAP/,$p' "${out}"
[ "${rc}" -eq 0 ] || { cat "${out}"; exit 1; }

# Every host of both plays ended ok or changed: none failed, none unreachable.
[ "$(grep -cE '^(load-0[0-9][0-9]|same-vps-[0-9][0-9]) +: ok=[0-9]+ +changed=[01] +unreachable=0 +failed=0 ' "${out}")" -eq 70 ]
if grep -n Traceback "${out}"; then
    exit 1
fi

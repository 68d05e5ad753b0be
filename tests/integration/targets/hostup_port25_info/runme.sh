#!/usr/bin/env bash
# Integration test of hostup.cloud.hostup_port25_info against the HostUp API simulator.
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

out="${HOSTUP_SIM_DIR}/ansible-playbook.out"
ansible-playbook -i inventory -e "hostup_sim_url=${HOSTUP_SIM_URL}" -v "$@" info.yml 2>&1 | tee "${out}"
# The unreadable endpoint is one warning naming it.
[ "$(grep -c 'could not read the port 25 state from GET /api/port25/requests' "${out}")" -eq 1 ]
# Waiting shows one line per check.
grep -qF '2 port 25 requests still pending (192.0.2.12, 192.0.2.13): checking again in 5 s' "${out}"

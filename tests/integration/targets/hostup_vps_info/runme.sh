#!/usr/bin/env bash
# Integration test of hostup.cloud.hostup_vps_info against the HostUp API simulator.
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

# 150 more VPSes (bulk-001 ... bulk-150), so that the account's list takes two pages of 100.
"${HOSTUP_SIM_PYTHON}" -c '
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/_sim/vps/bulk", method="POST",
                                 data=json.dumps({"count": 150, "prefix": "bulk"}).encode(),
                                 headers={"Content-Type": "application/json"})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
assert len(json.load(opener.open(request, timeout=10))) == 150
' "${HOSTUP_SIM_URL}"

ansible-playbook -i inventory -e "hostup_sim_url=${HOSTUP_SIM_URL}" "$@" vps_info.yml

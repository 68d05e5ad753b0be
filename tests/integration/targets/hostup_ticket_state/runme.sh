#!/usr/bin/env bash
# Integration test of hostup.cloud.hostup_ticket_state against the HostUp API simulator.
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

playbook=(ansible-playbook -i inventory -e "hostup_sim_url=${HOSTUP_SIM_URL}" "$@")
out="${HOSTUP_SIM_DIR}/ansible-playbook.out"

# On a fresh simulator: the whole playbook in check and diff mode predicts both changes and shows
# them (the playbook asserts that nothing was POSTed) ...
"${playbook[@]}" --check --diff idempotence.yml | tee "${out}"
grep -qF -- '-    "status": "open"' "${out}"
grep -qF -- '+    "status": "closed"' "${out}"
grep -qF -- '-    "status": "closed"' "${out}"
grep -qF -- '+    "status": "open"' "${out}"
grep -qE 'localhost +: ok=[0-9]+ +changed=2 +unreachable=0 +failed=0' "${out}"

# ... then makes them, showing the same diffs ...
"${playbook[@]}" --diff idempotence.yml | tee "${out}"
grep -qF -- '+    "status": "closed"' "${out}"
grep -qE 'localhost +: ok=[0-9]+ +changed=2 +unreachable=0 +failed=0' "${out}"

# ... and a second run changes nothing.
"${playbook[@]}" idempotence.yml | tee "${out}"
grep -qE 'localhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "${out}"

# Every behaviour and error case, task by task (the playbook resets the simulator first), at the
# highest verbosity, where no API key may appear either. The output is shown in full only on failure.
"${playbook[@]}" -vvvv behaviour.yml >"${out}" 2>&1 || { cat "${out}"; exit 1; }
grep -A1 'PLAY RECAP' "${out}"
if grep -F -e sim-demo-key -e sim-readonly-key "${out}"; then
    echo "an API key appears in the output of behaviour.yml" >&2
    exit 1
fi

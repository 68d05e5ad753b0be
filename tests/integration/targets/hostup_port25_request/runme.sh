#!/usr/bin/env bash
# Integration test of hostup.cloud.hostup_port25_request against the HostUp API simulator.
set -euxo pipefail

# shellcheck source=../setup_hostup_simulator/simulator.sh
source ../setup_hostup_simulator/simulator.sh
hostup_sim_start

playbook=(ansible-playbook -i inventory -e "hostup_sim_url=${HOSTUP_SIM_URL}" "$@")
out="${HOSTUP_SIM_DIR}/ansible-playbook.out"

# On a fresh simulator: the whole playbook in check and diff mode predicts the request and shows it
# (the playbook asserts that nothing was POSTed) ...
"${playbook[@]}" --check --diff idempotence.yml | tee "${out}"
grep -qF -- '--- before' "${out}"
grep -qF -- '+++ after' "${out}"
grep -qF -- '+    "status": "pending",' "${out}"
grep -qF -- '+    "vps_id": "vps_01hmail0000000000000000001"' "${out}"
grep -qE 'localhost +: ok=[0-9]+ +changed=1 +unreachable=0 +failed=0' "${out}"

# ... then files it, showing the same diff ...
"${playbook[@]}" --diff idempotence.yml | tee "${out}"
grep -qF -- '+    "status": "pending",' "${out}"
grep -qE 'localhost +: ok=[0-9]+ +changed=1 +unreachable=0 +failed=0' "${out}"

# ... and a second run changes nothing.
"${playbook[@]}" idempotence.yml | tee "${out}"
grep -qE 'localhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "${out}"

# Every behaviour and error case, task by task (the playbook resets the simulator first), at the
# highest verbosity, where no API key may appear either. The output is shown in full only on failure.
"${playbook[@]}" -vvvv behaviour.yml >"${out}" 2>&1 || { cat "${out}"; exit 1; }
grep -A1 'PLAY RECAP' "${out}"
if grep -F -e sim-demo-key -e sim-readonly-key -e not-a-valid-hostup-key "${out}"; then
    echo "an API key appears in the output of behaviour.yml" >&2
    exit 1
fi

# Waiting for HostUp's decision (approved, rejected, still pending at the timeout), with one
# progress line per check at -v.
"${playbook[@]}" -v wait.yml | tee "${out}"
grep -qF 'port 25 request for vps_01hmail0000000000000000001 (192.0.2.11) still pending: checking again in 5 s, 60 s left of decision_timeout' "${out}"

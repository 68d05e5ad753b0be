#!/usr/bin/env bash
# The collection's CI gates.
#
#   .ci/gates.sh              run every gate; exit 1 if any failed
#   .ci/gates.sh fast         units and integration on the tools venv only (dev loop)
#   .ci/gates.sh list         list the gates
#   .ci/gates.sh GATE [ARG]   run one gate with its output on the terminal,
#                             e.g. `.ci/gates.sh sanity 2.21`, `.ci/gates.sh ansible-lint`
#
# Each gate prints one line, `== gate: NAME ... PASS|FAIL (Ns)`; a failing gate's output
# follows its line. Every gate runs even when an earlier one failed; a summary line
# closes the run. Gates never run in the checkout itself: each works on its own copy of
# the files git would commit (tracked plus untracked-not-ignored), laid out as
# ansible_collections/hostup/cloud as ansible-test requires.
#
# Environment: GATES_JOBS (default 2) lanes for the per-release sanity and units gates;
# GATES_TIMEOUT (default 1200) seconds before a gate is stopped; GATES_KEEP=1 keeps the
# work directory (logs, copies, tarball) and prints its path.
set -uo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$repo_root/.ci/gates.sh
CORE_RELEASES=(2.18 2.19 2.20 2.21)
# Integration runs on the tools venv (ansible-core 2.19) and on the newest release.
INTEGRATION_VENVS=(tools core-2.21)

export NO_COLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# ---------------------------------------------------------------------------- helpers

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

venv_of() { "$repo_root/.ci/venv.sh" "$1"; }

# Python X.Y of a venv.
python_of() { "$1/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

core_version_of() { "$1/bin/python" -c 'import ansible; print("ansible-core", ansible.__version__)'; }

# Prints a one-line note under the gate's result line.
note() { printf '%s\n' "$*" >>"${GATE_NOTES:-/dev/null}"; }

# Runs a command, shows its output, and notes its last line (a checker's verdict).
run_noting_last_line() {
    local out status
    out=$("$@" 2>&1)
    status=$?
    printf '%s\n' "$out"
    note "$(tail -n 1 <<<"$out")"
    return "$status"
}

# Copies what git would commit into DIR/ansible_collections/hostup/cloud; prints that path.
collection_copy() {
    local dest=$1/ansible_collections/hostup/cloud
    mkdir -p "$dest"
    (
        cd "$repo_root" &&
            git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' path; do
                # Tracked files deleted in the work tree are still listed by --cached.
                if [[ -e $path ]]; then printf '%s\0' "$path"; fi
            done |
            tar --null --files-from=- -cf -
    ) | tar -xf - -C "$dest" || return 1
    echo "$dest"
}

# The tarball made by the build gate (made now if that gate has not run).
built_tarball() {
    if ! ls "$work"/dist/hostup-cloud-*.tar.gz >/dev/null 2>&1; then
        GATE_NOTES=/dev/null gate_build >"$work/logs/build-for-tarball.log" 2>&1
    fi
    ls "$work"/dist/hostup-cloud-*.tar.gz 2>/dev/null || {
        echo "no tarball: ansible-galaxy collection build failed (see the build gate)"
        return 1
    }
}

# A fresh scratch directory for one gate (or one gate step).
scratch() {
    local dir=$work/$1
    rm -rf "$dir" && mkdir -p "$dir" && echo "$dir"
}

# ------------------------------------------------------------------------------ gates
# Each gate_* function is one gate body: exit status 0 passes. It runs in its own process
# (see run_gate) with its output in the gate's log.

gate_build() {
    local dir tree tarball tools
    tools=$(venv_of tools) || return 1
    dir=$(scratch build)
    tree=$(collection_copy "$dir/src") || return 1
    # Leave behind what a developer's checkout collects, to prove build_ignore drops it.
    mkdir -p "$tree/tests/output/junk" "$tree/plugins/__pycache__" "$tree/.pytest_cache" "$tree/bench/results"
    touch "$tree/tests/output/junk/x.json" "$tree/plugins/__pycache__/x.cpython-311.pyc" \
        "$tree/.pytest_cache/x" "$tree/bench/results/x.json" "$tree/hostup-cloud-0.0.1.tar.gz"
    mkdir -p "$tree/.ci" && touch "$tree/.ci/leftover"

    "$tools/bin/ansible-galaxy" collection build "$tree" --output-path "$work/dist" --force || return 1
    tarball=$(ls "$work"/dist/hostup-cloud-*.tar.gz) || return 1
    # The file list against an explicit expectation (tests/ci_checks/check_tarball.py): no scripts/,
    # bench/, tests output, caches or CI files; README, CHANGELOG, meta/, and all of plugins/modules,
    # roles/port25_unblock and docs present.
    note "$(basename "$tarball")"
    run_noting_last_line "$tools/bin/python" "$repo_root/tests/ci_checks/check_tarball.py" "$tarball" "$tree"
}

gate_galaxy_importer() {
    local tools dir tarball out errors
    tools=$(venv_of tools) || return 1
    tarball=$(built_tarball) || return 1
    dir=$(scratch galaxy-importer)
    # run_ansible_test = False: that step always wants a container runtime.
    out=$(cd "$dir" && GALAXY_IMPORTER_CONFIG=$repo_root/.ci/galaxy-importer.cfg PATH=$tools/bin:$PATH \
        "$tools/bin/python" -m galaxy_importer.main "$tarball" 2>&1)
    local status=$?
    echo "$out"
    errors=$(grep -E '^(ERROR|CRITICAL)' <<<"$out")
    if [[ $status -ne 0 || -n $errors || ! -s $dir/importer_result.json ]]; then
        echo "galaxy-importer: exit $status; ERROR lines:"
        echo "${errors:-none}"
        return 1
    fi
    note "$(grep -c '^WARNING' <<<"$out") warning(s), no errors"
}

gate_sanity_ignores() {
    local bad
    bad=$(cd "$repo_root" && grep -HnE '^[[:space:]]*(plugins|roles)/' tests/sanity/ignore-*.txt 2>/dev/null)
    if [[ -n $bad ]]; then
        echo "tests/sanity/ignore-*.txt must not ignore anything in plugins/ or roles/:"
        echo "$bad"
        return 1
    fi
    note "no sanity ignore entries for plugins/ or roles/"
}

gate_sanity() {
    local release=$1 venv python dir tree
    venv=$(venv_of "core-$release") || return 1
    python=$(python_of "$venv")
    dir=$(scratch "sanity-$release")
    tree=$(collection_copy "$dir") || return 1
    if ! command -v shellcheck >/dev/null; then
        note "shellcheck is not installed: ansible-test skips its shellcheck test"
    fi
    (cd "$tree" && PATH=$venv/bin:$PATH ansible-test sanity --local --python "$python" --color no 2>&1) |
        tee "$dir/sanity.out"
    local status=${PIPESTATUS[0]}
    note "$(grep -c '^Running sanity test' "$dir/sanity.out") sanity tests on $(core_version_of "$venv"), Python $python"
    return "$status"
}

gate_units() {
    local venv_name=$1 venv python tree
    if [[ -z $(find "$repo_root/tests/unit" -name 'test_*.py' -print -quit 2>/dev/null) ]]; then
        note "tests/unit has no test files"
        return 0
    fi
    venv=$(venv_of "$venv_name") || return 1
    python=$(python_of "$venv")
    tree=$(collection_copy "$(scratch "units-$venv_name")") || return 1
    (cd "$tree" && PATH=$venv/bin:$PATH ansible-test units --local --python "$python" --color no) || return 1
    # ansible-test leaves pytest's junit report; its totals make a useful note.
    note "$("$venv/bin/python" - "$tree"/tests/output/junit/*.xml <<'EOF'
import sys, xml.etree.ElementTree as ET
tests = failures = skipped = 0
for path in sys.argv[1:]:
    for suite in ET.parse(path).getroot().iter("testsuite"):
        tests += int(suite.get("tests", 0))
        failures += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
print("%d passed, %d failed, %d skipped" % (tests - failures - skipped, failures, skipped))
EOF
)"
}

gate_integration() {
    local venv_name=$1 venv python tree targets
    targets=$(cd "$repo_root" && find tests/integration/targets -mindepth 2 -maxdepth 2 -name aliases 2>/dev/null | wc -l)
    if [[ $targets -eq 0 ]]; then
        note "tests/integration/targets has no targets"
        return 0
    fi
    venv=$(venv_of "$venv_name") || return 1
    python=$(python_of "$venv")
    tree=$(collection_copy "$(scratch "integration-$venv_name")") || return 1
    (cd "$tree" && PATH=$venv/bin:$PATH ansible-test integration --local --python "$python" --color no) || return 1
    note "$targets target(s) on $(core_version_of "$venv"), Python $python"
}

gate_ansible_lint() {
    local tools root tree
    tools=$(venv_of tools) || return 1
    root=$(scratch ansible-lint)
    tree=$(collection_copy "$root") || return 1
    (cd "$tree" && ANSIBLE_COLLECTIONS_PATH=$root PATH=$tools/bin:$PATH ansible-lint --offline --profile production)
}

gate_docs_lint() {
    local tools root tree
    tools=$(venv_of tools) || return 1
    root=$(scratch docs-lint)
    tree=$(collection_copy "$root") || return 1
    (cd "$tree" && ANSIBLE_COLLECTIONS_PATH=$root PATH=$tools/bin:$PATH \
        antsibull-docs lint-collection-docs --plugin-docs .)
}

gate_changelog_lint() {
    local tools root tree version heading
    tools=$(venv_of tools) || return 1
    root=$(scratch changelog-lint)
    tree=$(collection_copy "$root") || return 1
    cd "$tree" || return 1
    export PATH=$tools/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$root
    antsibull-changelog lint || return 1
    antsibull-changelog lint-changelog-yaml --strict changelogs/changelog.yaml || return 1
    note "$(find changelogs/fragments -type f ! -name .keep | wc -l) fragment(s) lint clean"

    # Release rehearsal on the copy: the fragments become CHANGELOG.md for galaxy.yml's
    # version, and the version check then holds in its strict, released form.
    version=$(sed -n 's/^version: *//p' galaxy.yml)
    if grep -qE "^  ['\"]?${version}['\"]?:" changelogs/changelog.yaml; then
        antsibull-changelog generate || return 1
    else
        antsibull-changelog release --version "$version" --date 2099-01-01 || return 1
    fi
    antsibull-changelog lint-changelog-yaml --strict changelogs/changelog.yaml || return 1
    # antsibull-changelog escapes Markdown: "## v0\.1\.0".
    heading=$(printf '## v%s' "$version" | sed 's/[.]/\\./g')
    grep -qF "$heading" CHANGELOG.md || {
        echo "CHANGELOG.md has no section for v$version:"
        cat CHANGELOG.md
        return 1
    }
    "$tools/bin/python" "$repo_root/tests/ci_checks/check_version.py" --released "$tree" || return 1
    note "release rehearsal: CHANGELOG.md generated for v$version"
}

gate_action_group() {
    local tools tree
    tools=$(venv_of tools) || return 1
    tree=$(collection_copy "$(scratch action-group)") || return 1
    run_noting_last_line "$tools/bin/python" "$repo_root/tests/ci_checks/check_action_group.py" "$tree"
}

gate_version() {
    local tools tree
    tools=$(venv_of tools) || return 1
    tree=$(collection_copy "$(scratch version)") || return 1
    run_noting_last_line "$tools/bin/python" "$repo_root/tests/ci_checks/check_version.py" "$tree"
}

gate_ci_checks_self_test() {
    local tools
    tools=$(venv_of tools) || return 1
    cd "$repo_root/tests/ci_checks" &&
        run_noting_last_line "$tools/bin/python" -m pytest -q -p no:cacheprovider test_gates_fail.py
}

gate_execution_environment() {
    local tools dir tarball deps
    tools=$(venv_of tools) || return 1
    dir=$(scratch execution-environment)
    (cd "$repo_root" && "$tools/bin/ansible-builder" create -f docs/execution-environment.yml \
        --context "$dir/context") || return 1
    # The collection's own meta/execution-environment.yml, as ansible-builder reads it
    # from an installed copy of the tarball.
    tarball=$(built_tarball) || return 1
    "$tools/bin/ansible-galaxy" collection install -p "$dir/installed" "$tarball" || return 1
    deps=$("$tools/bin/ansible-builder" introspect "$dir/installed") || return 1
    echo "$deps"
    if ! grep -q "requests .*from collection hostup.cloud" <<<"$deps"; then
        echo "ansible-builder introspect did not find requests among hostup.cloud's Python requirements"
        return 1
    fi
    note "build context created; introspect finds requests from meta/execution-environment.yml"
}

# ----------------------------------------------------------------------------- runner

# What to show of a failed gate's log: its error lines (ansible-test, pytest, importer)
# if it has any, else its end. This machine's pip prints a warning per package about
# missing local index folders; those lines are left out.
failure_excerpt() {
    local name=$1 log=$2 status=$3 errors='^(ERROR|FATAL|FAILED|CRITICAL)\b'
    if grep -qE "$errors" "$log"; then
        echo "   -- error lines of $name's output (exit $status) --"
        grep -E "$errors" "$log" | head -n 80 | sed 's/^/   | /'
    else
        echo "   -- last 60 lines of $name's output (exit $status) --"
        grep -v "^WARNING: Location 'file://" "$log" | tail -n 60 | sed 's/^/   | /'
    fi
}

# run_gate NAME FUNCTION [ARG]: runs one gate body in a child process with a time limit,
# its output in $work/logs/NAME.log, and its report (result line, notes, or the end of
# the log on failure) in $work/reports/NAME.
run_gate() {
    local name=$1 body=$2 arg=${3:-}
    local log=$work/logs/$name.log report=$work/reports/$name notes=$work/notes/$name
    local start status result elapsed
    start=$(now_ms)
    : >"$notes"
    GATE_NOTES=$notes timeout --kill-after=10 "${GATES_TIMEOUT:-1200}" \
        "$self" __body "$body" ${arg:+"$arg"} >"$log" 2>&1 </dev/null
    status=$?
    elapsed=$(($(now_ms) - start))
    if [[ $status -eq 0 ]]; then result=PASS; else result=FAIL; fi
    [[ $status -eq 124 ]] && echo "gate stopped after ${GATES_TIMEOUT:-1200}s" >>"$log"
    {
        printf '== gate: %-32s %s (%d.%ds)\n' "$name ..." "$result" $((elapsed / 1000)) $((elapsed % 1000 / 100))
        sed 's/^/     /' "$notes"
        if [[ $result == FAIL ]]; then
            failure_excerpt "$name" "$log" "$status"
        fi
    } >"$report"
    echo "$name $result $elapsed" >>"$work/results"
}

# Runs a list of gates one after another, printing each report as soon as it is done.
# Each item is "NAME FUNCTION [ARG]".
run_lane() {
    local item
    for item in "$@"; do
        # shellcheck disable=SC2086 # the item is split into its words on purpose
        run_gate $item
        cat "$work/reports/${item%% *}"
    done
}

# Runs several lanes side by side; each lane's reports are printed when it finishes.
# Lanes are separated by "|" in the argument list.
run_lanes() {
    local -a lane=() pids=() outputs=()
    local i=0 item
    for item in "$@" "|"; do
        if [[ $item == "|" ]]; then
            outputs+=("$work/lane-$i.out")
            run_lane "${lane[@]}" >"$work/lane-$i.out" &
            pids+=($!)
            lane=()
            i=$((i + 1))
        else
            lane+=("$item")
        fi
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
        cat "${outputs[$i]}"
    done
}

# Builds the venvs up front (two at a time) so that gate timings show the gate's own work.
prepare_venvs() {
    local -a names=(tools "${CORE_RELEASES[@]/#/core-}")
    local name start elapsed running=0
    for name in "${names[@]}"; do
        (
            start=$(now_ms)
            if venv_of "$name" >"$work/logs/venv-$name.log" 2>&1; then
                elapsed=$(($(now_ms) - start))
                printf '== venv: %-32s ready (%d.%ds)\n' "$name ..." $((elapsed / 1000)) $((elapsed % 1000 / 100))
            else
                printf '== venv: %-32s FAILED to build:\n' "$name ..."
                tail -n 30 "$work/logs/venv-$name.log" | sed 's/^/   | /'
            fi
        ) &
        running=$((running + 1))
        if ((running >= ${GATES_JOBS:-2})); then
            wait -n
            running=$((running - 1))
        fi
    done
    wait
}

all_gates() {
    local start release
    start=$(now_ms)
    echo "== hostup.cloud CI gates: $(cd "$repo_root" && git rev-parse --short HEAD 2>/dev/null || echo '?'), work dir $work"
    if ! command -v shellcheck >/dev/null; then
        echo "== warning: shellcheck is not installed, so ansible-test's shellcheck test will be skipped"
    fi
    prepare_venvs

    run_lane \
        "build gate_build" \
        "galaxy-importer gate_galaxy_importer" \
        "action-group gate_action_group" \
        "version gate_version" \
        "ci-checks-self-test gate_ci_checks_self_test" \
        "changelog-lint gate_changelog_lint" \
        "execution-environment gate_execution_environment" \
        "ansible-lint gate_ansible_lint" \
        "docs-lint gate_docs_lint" \
        "sanity-ignores gate_sanity_ignores"

    # Sanity and units per release, in two lanes split by Python version so that no two
    # ansible-test processes build the same venv under ~/.ansible/test at once.
    local -a py311=() py312=()
    for release in "${CORE_RELEASES[@]}"; do
        local lane_items=("sanity-$release gate_sanity $release" "units-$release gate_units core-$release")
        if [[ $(sed -n 's/^# python: *//p' "$repo_root/tests/requirements-core-$release.txt") == 3.11 ]]; then
            py311+=("${lane_items[@]}")
        else
            py312+=("${lane_items[@]}")
        fi
    done
    if [[ ${GATES_JOBS:-2} -ge 2 ]]; then
        run_lanes "${py311[@]}" "|" "${py312[@]}"
    else
        run_lane "${py311[@]}" "${py312[@]}"
    fi

    # One at a time: the targets may start servers on fixed loopback ports.
    local -a integration=()
    for venv_name in "${INTEGRATION_VENVS[@]}"; do
        integration+=("integration-${venv_name#core-} gate_integration $venv_name")
    done
    run_lane "${integration[@]}"

    summarize "$start"
}

fast_gates() {
    local start
    start=$(now_ms)
    run_lane "units-tools gate_units tools" "integration-tools gate_integration tools"
    summarize "$start"
}

# Prints the closing lines; fails if any gate failed.
summarize() {
    local elapsed passed failed failed_names
    elapsed=$((($(now_ms) - $1) / 1000))
    passed=$(grep -c ' PASS ' "$work/results")
    failed=$(grep -c ' FAIL ' "$work/results")
    failed_names=$(awk '$2 == "FAIL" {printf " %s", $1}' "$work/results")
    echo "== summary: $((passed + failed)) gates in ${elapsed}s${failed_names:+; failed:$failed_names}"
    echo "gates: $passed passed, $failed failed"
    [[ $failed -eq 0 ]]
}

list_gates() {
    printf '%s\n' build galaxy-importer action-group version ci-checks-self-test changelog-lint \
        execution-environment ansible-lint docs-lint sanity-ignores \
        "sanity RELEASE (${CORE_RELEASES[*]})" "units RELEASE|tools" "integration tools|RELEASE"
}

# ------------------------------------------------------------------------------- main

# Internal: a gate body in its own process (so that `timeout` can stop it).
if [[ ${1:-} == __body ]]; then
    work=${GATES_WORK:?}
    shift
    "$@"
    exit
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hostup-ci.XXXXXX")
export GATES_WORK=$work
mkdir -p "$work/logs" "$work/reports" "$work/notes"
: >"$work/results"
cleanup() {
    if [[ ${GATES_KEEP:-0} == 1 ]]; then echo "== work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

case ${1:-all} in
    all) all_gates ;;
    fast) fast_gates ;;
    list) list_gates ;;
    *)
        # One gate, its output straight to the terminal.
        gate=${1//-/_}
        if [[ $(type -t "gate_$gate") != function ]]; then
            echo "unknown gate: $1 (see: .ci/gates.sh list)" >&2
            exit 2
        fi
        arg=${2:-}
        case $gate in units | integration) [[ $arg == 2.* ]] && arg=core-$arg ;; esac
        [[ $gate == units || $gate == integration ]] && arg=${arg:-tools}
        start=$(now_ms)
        : >"$work/notes/single"
        GATE_NOTES=$work/notes/single "gate_$gate" ${arg:+"$arg"}
        status=$?
        elapsed=$(($(now_ms) - start))
        if [[ $status -eq 0 ]]; then result=PASS; else result=FAIL; fi
        printf '== gate: %-32s %s (%d.%ds)\n' "$1${2:+ $2} ..." "$result" $((elapsed / 1000)) $((elapsed % 1000 / 100))
        sed 's/^/     /' "$work/notes/single"
        exit "$status"
        ;;
esac

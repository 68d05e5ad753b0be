#!/usr/bin/env bash
# Usage: .ci/venv.sh NAME
#
# Prints the path of a ready virtualenv for NAME (tools, core-2.18, core-2.19, core-2.20,
# core-2.21, or any core-X.Y that has a tests/requirements-core-X.Y.txt), building it on
# first use. The requirements file names its interpreter on a line `# python: X.Y`.
#
# Venvs are cached outside the checkout, keyed by the requirements file's content:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/hostup-cloud/venvs/NAME-<sha256[:12]>
# A venv cannot be moved once built (its scripts' shebangs hold its path), so it is built
# in a uniquely named directory and then published under the final name by renaming a
# symlink over it. The final name therefore appears only once the build has finished: an
# interrupted build is never reused, and the next run removes its leftovers.
#
# Also seeds ansible-test's get-pip cache with .ci/get_pip_standin.py (only missing files).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=${1:?usage: .ci/venv.sh NAME (tools, core-2.18, core-2.19, core-2.20, core-2.21)}

case $name in
    tools) requirements=$repo_root/tests/requirements-tools.txt ;;
    core-*) requirements=$repo_root/tests/requirements-$name.txt ;;
    *) requirements= ;;
esac
if [[ -z $requirements || ! -f $requirements ]]; then
    echo "venv.sh: no requirements file for venv '$name'" >&2
    exit 2
fi

seed_get_pip_standins() {
    local cache_dir=$HOME/.ansible/test/cache version
    mkdir -p "$cache_dir"
    # 23.1.2: ansible-core before 2.18; 24.2: 2.18 and 2.19; 25.2: 2.20 and 2.21.
    for version in 23_1_2 24_2 25_2; do
        if [[ ! -e $cache_dir/get_pip_$version.py ]]; then
            cp "$repo_root/.ci/get_pip_standin.py" "$cache_dir/get_pip_$version.py"
        fi
    done
}

# Prints X.Y of the interpreter $1, or fails if it does not run.
python_version_of() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

# Prints a real interpreter for Python $1 (X.Y). pyenv's own builds come first: the
# `python3.12`-style names on PATH may be pyenv shims that refuse to run.
find_python() {
    local wanted=$1 pyenv_root candidate
    local -a candidates=()
    if command -v pyenv >/dev/null 2>&1; then
        pyenv_root=$(pyenv root)
    else
        pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
    fi
    if [[ -d $pyenv_root/versions ]]; then
        # Newest patch release first.
        mapfile -t candidates < <(
            find "$pyenv_root/versions" -mindepth 1 -maxdepth 1 -name "$wanted.*" -printf '%f\n' |
                grep -E "^$wanted\.[0-9]+$" | sort -t. -k3,3nr |
                sed "s|^|$pyenv_root/versions/|; s|\$|/bin/python|"
        )
    fi
    candidates+=("python$wanted" python3)
    for candidate in "${candidates[@]}"; do
        if [[ $(python_version_of "$candidate") == "$wanted" ]]; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "venv.sh: no working Python $wanted interpreter found (tried: ${candidates[*]})" >&2
    return 1
}

seed_get_pip_standins

python_wanted=$(sed -n 's/^# python: *\([0-9][0-9.]*\) *$/\1/p' "$requirements" | head -n 1)
if [[ -z $python_wanted ]]; then
    echo "venv.sh: $requirements has no '# python: X.Y' line" >&2
    exit 2
fi

key=$(sha256sum "$requirements" | cut -c1-12)
cache_dir=${XDG_CACHE_HOME:-$HOME/.cache}/hostup-cloud/venvs
venv=$cache_dir/$name-$key
mkdir -p "$cache_dir"

# One build per NAME at a time; a second caller waits and then reuses the result.
exec 9>"$cache_dir/.$name.lock"
flock 9

if [[ -L $venv ]] && "$venv/bin/python" -c '' 2>/dev/null; then
    echo "$venv"
    exit 0
fi
rm -f "$venv"  # a broken venv, e.g. its interpreter was removed

python=$(find_python "$python_wanted")
build_dir=$(mktemp -d "$cache_dir/$name-$key.build-XXXXXX")
trap 'rm -rf "$build_dir"' EXIT

echo "venv.sh: building $name venv with $python from ${requirements#"$repo_root"/}" >&2
"$python" -m venv "$build_dir"
"$build_dir/bin/python" -m pip install --disable-pip-version-check --quiet \
    -r "$requirements" >&2

# Publish: rename a symlink over the final name (rename is atomic).
ln -s "$(basename "$build_dir")" "$venv.link-$$"
mv -T "$venv.link-$$" "$venv"
trap - EXIT

# Drop this NAME's older venvs and interrupted builds; only the one just published stays.
for stale in "$cache_dir/$name"-*; do
    [[ -e $stale || -L $stale ]] || continue
    case $stale in
        "$venv" | "$build_dir") ;;
        *) rm -rf "$stale" ;;
    esac
done

echo "$venv"

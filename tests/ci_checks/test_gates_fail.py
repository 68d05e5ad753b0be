# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The custom CI checks fail on deliberately broken collections, and pass on a sound one.

Each test builds a small collection in a temp dir (two throwaway modules, the shared doc
fragment, runtime metadata, version file, changelog), breaks one thing, and runs the
check on it. Run by .ci/gates.sh (gate ci-checks-self-test) with the tools venv's pytest.
"""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys
import tarfile
import textwrap

import pytest

HERE = pathlib.Path(__file__).resolve().parent


def load_check(name):
    spec = importlib.util.spec_from_file_location(name, HERE / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


action_group = load_check("check_action_group")
version_check = load_check("check_version")
tarball_check = load_check("check_tarball")

MODULE_TEMPLATE = '''\
#!/usr/bin/python
from __future__ import annotations

DOCUMENTATION = r"""
module: {name}
short_description: A throwaway module for the CI check tests
extends_documentation_fragment:
  - hostup.cloud.api
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
  action_group:
    support: full
    membership:
      - hostup.cloud.all
options: {{}}
"""
'''

FRAGMENT = '''\
from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  api_key:
    description: Key.
    type: str
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
  action_group:
    support: full
    membership:
      - hostup.cloud.all
"""
'''

USER_AGENT_CODE = '''\
from __future__ import annotations

from ansible_collections.hostup.cloud.plugins.module_utils._version import COLLECTION_VERSION

HEADERS = {"User-Agent": "hostup.cloud/%s" % COLLECTION_VERSION}
'''


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def collection(tmp_path):
    """A sound collection with the modules alpha_thing and beta_thing."""
    root = tmp_path / "ansible_collections" / "hostup" / "cloud"
    write(root / "galaxy.yml", "namespace: hostup\nname: cloud\nversion: 0.2.0\n")
    write(root / "meta" / "runtime.yml", "requires_ansible: '>=2.18.0'\naction_groups:\n  all:\n    - alpha_thing\n    - beta_thing\n")
    for name in ("alpha_thing", "beta_thing"):
        write(root / "plugins" / "modules" / (name + ".py"), MODULE_TEMPLATE.format(name=name))
    write(root / "plugins" / "doc_fragments" / "api.py", FRAGMENT)
    write(root / "plugins" / "module_utils" / "_version.py", 'COLLECTION_VERSION = "0.2.0"\n')
    write(root / "plugins" / "module_utils" / "_client.py", USER_AGENT_CODE)
    write(
        root / "changelogs" / "changelog.yaml",
        "ancestor: null\nreleases:\n  0.1.0:\n    release_date: '2026-01-01'\n",
    )
    return root


def problems_of(check, root, **kwargs):
    problems, _info = check.check(root, **kwargs)
    return "\n".join(problems)


def set_group(root, entries):
    lines = "".join("    - %s\n" % entry for entry in entries)
    write(root / "meta" / "runtime.yml", "requires_ansible: '>=2.18.0'\naction_groups:\n  all:\n" + lines)


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, "test setup: %r not in %s" % (old, path)
    path.write_text(text.replace(old, new), encoding="utf-8")


# The sound collection passes both checks, so each failure below is caused by its break.


def test_sound_collection_passes(collection):
    assert problems_of(action_group, collection) == ""
    assert problems_of(version_check, collection) == ""


def test_fully_qualified_group_entries_pass(collection):
    set_group(collection, ["hostup.cloud.alpha_thing", "beta_thing"])
    assert problems_of(action_group, collection) == ""


def test_attributes_from_a_collection_doc_fragment_pass(collection):
    module = collection / "plugins" / "modules" / "alpha_thing.py"
    text = module.read_text(encoding="utf-8")
    start, end = text.index("attributes:"), text.index("options:")
    module.write_text(text[:start] + text[end:], encoding="utf-8")
    edit(module, "  - hostup.cloud.api\n", "  - hostup.cloud.api\n  - hostup.cloud.api.attributes\n")
    assert problems_of(action_group, collection) == ""


@pytest.mark.parametrize("built", ["BASE + r", "LEAD + BASE + r"])
def test_a_fragment_built_from_another_string_is_read(collection, built):
    fragment = collection / "plugins" / "doc_fragments" / "api.py"
    edit(fragment, '    ATTRIBUTES = r"""\nattributes:\n',
         '    LEAD = "\\n"\n    BASE = r"""\nattributes:\n"""\n    ATTRIBUTES = %s"""\n' % built)
    module = collection / "plugins" / "modules" / "alpha_thing.py"
    text = module.read_text(encoding="utf-8")
    start, end = text.index("attributes:"), text.index("options:")
    module.write_text(text[:start] + text[end:], encoding="utf-8")
    edit(module, "  - hostup.cloud.api\n", "  - hostup.cloud.api\n  - hostup.cloud.api.attributes\n")
    assert problems_of(action_group, collection) == ""
    # The same module without the fragment's attributes is caught, so the string above was really read.
    edit(fragment, "  check_mode:\n    support: full\n", "")
    assert "check_mode" in problems_of(action_group, collection)


def test_attribute_keys_split_between_module_and_fragment_pass(collection):
    module = collection / "plugins" / "modules" / "alpha_thing.py"
    edit(module, "    membership:\n      - hostup.cloud.all\n", "")
    edit(module, "  - hostup.cloud.api\n", "  - hostup.cloud.api\n  - hostup.cloud.api.attributes\n")
    assert problems_of(action_group, collection) == ""


# check_action_group.py


def test_module_missing_from_group_fails(collection):
    set_group(collection, ["alpha_thing"])
    assert "misses module beta_thing" in problems_of(action_group, collection)


def test_extra_group_entry_fails(collection):
    set_group(collection, ["alpha_thing", "beta_thing", "gamma_thing_gone"])
    assert "lists gamma_thing_gone, which is not in plugins/modules/" in problems_of(action_group, collection)


def test_misspelled_group_entry_fails(collection):
    set_group(collection, ["alpha_thing", "hostup.cloud.beta_thnig"])
    problems = problems_of(action_group, collection)
    assert "misses module beta_thing" in problems
    assert "lists beta_thnig" in problems and "misspelled beta_thing?" in problems


def test_other_collections_module_in_group_fails(collection):
    set_group(collection, ["alpha_thing", "beta_thing", "hetzner.hcloud.server"])
    assert "'hetzner.hcloud.server' is not a hostup.cloud module" in problems_of(action_group, collection)


def test_duplicate_group_entry_fails(collection):
    set_group(collection, ["alpha_thing", "beta_thing", "hostup.cloud.beta_thing"])
    assert "lists 'beta_thing' more than once" in problems_of(action_group, collection)


def test_missing_shared_doc_fragment_fails(collection):
    edit(collection / "plugins" / "modules" / "beta_thing.py", "  - hostup.cloud.api\n", "  - community.general.other\n")
    assert "beta_thing.py: extends_documentation_fragment does not include hostup.cloud.api" in problems_of(
        action_group, collection
    )


@pytest.mark.parametrize("attribute", action_group.REQUIRED_ATTRIBUTES)
def test_missing_attribute_fails(collection, attribute):
    edit(collection / "plugins" / "modules" / "alpha_thing.py", "  %s:\n" % attribute, "  not_%s:\n" % attribute)
    assert "alpha_thing.py: attributes.%s is missing" % attribute in problems_of(action_group, collection)


def test_action_group_attribute_without_membership_fails(collection):
    edit(collection / "plugins" / "modules" / "alpha_thing.py", "      - hostup.cloud.all\n", "      - hostup.cloud.other\n")
    assert "membership does not list hostup.cloud.all" in problems_of(action_group, collection)


def test_documentation_naming_another_module_fails(collection):
    edit(collection / "plugins" / "modules" / "alpha_thing.py", "module: alpha_thing", "module: alpha_thang")
    assert "names module 'alpha_thang'" in problems_of(action_group, collection)


# check_version.py


def test_galaxy_version_drift_fails(collection):
    edit(collection / "galaxy.yml", "version: 0.2.0", "version: 0.3.0")
    assert "COLLECTION_VERSION = '0.2.0' but galaxy.yml version is '0.3.0'" in problems_of(version_check, collection)


def test_user_agent_version_drift_fails(collection):
    edit(collection / "plugins" / "module_utils" / "_version.py", '"0.2.0"', '"0.1.9"')
    assert "COLLECTION_VERSION = '0.1.9'" in problems_of(version_check, collection)


def test_hard_coded_user_agent_version_fails(collection):
    write(collection / "plugins" / "module_utils" / "_client.py", 'HEADERS = {"User-Agent": "hostup.cloud/0.2.0"}\n')
    problems = problems_of(version_check, collection)
    assert "hard-coded version" in problems
    assert "no plugin code uses COLLECTION_VERSION" in problems


def test_changelog_newer_than_galaxy_fails(collection):
    edit(collection / "changelogs" / "changelog.yaml", "  0.1.0:", "  0.3.0:")
    assert "neither released nor newer than 0.3.0" in problems_of(version_check, collection)


def test_released_version_that_is_not_newest_fails(collection):
    edit(
        collection / "changelogs" / "changelog.yaml",
        "  0.1.0:\n",
        "  0.2.0:\n    release_date: '2026-02-01'\n  0.2.1:\n",
    )
    assert "newest release is 0.2.1 but galaxy.yml version is 0.2.0" in problems_of(version_check, collection)


def test_unreleased_version_fails_when_release_is_required(collection):
    assert "version 0.2.0 is not released" in problems_of(version_check, collection, released=True)


# The scripts' exit codes, which is what the gates look at.


@pytest.mark.parametrize("script", ["check_action_group.py", "check_version.py"])
def test_scripts_exit_zero_when_sound_and_one_when_broken(collection, script):
    def run():
        return subprocess.run(
            [sys.executable, str(HERE / script), str(collection)], capture_output=True, text=True, check=False
        )

    sound = run()
    assert sound.returncode == 0, sound.stdout
    set_group(collection, ["alpha_thing"])
    edit(collection / "galaxy.yml", "version: 0.2.0", "version: 0.3.0")
    broken = run()
    assert broken.returncode == 1, broken.stdout
    assert "problem(s)" in broken.stdout


# The build gate's tarball check: a tarball is judged by its file list against the tree it was built from.

SHIPPED = ["README.md", "CHANGELOG.md", "meta/execution-environment.yml", "roles/port25_unblock/tasks/main.yml",
           "roles/port25_unblock/README.md", "docs/guide.md", "docs/awx/credential_type.json"]


@pytest.fixture
def source(collection):
    """The sound collection with what a built tarball must also carry."""
    for path in SHIPPED:
        write(collection / path, "x\n")
    return collection


def make_tarball(root, tmp_path, leave_out=(), add=()):
    """A tarball laid out as ansible-galaxy builds it, of every file of ROOT but LEAVE_OUT, plus ADD."""
    tarball = tmp_path / "hostup-cloud-0.2.0.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name in ("MANIFEST.json", "FILES.json"):
            write(tmp_path / "meta-files" / name, "{}\n")
            archive.add(str(tmp_path / "meta-files" / name), arcname=name)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            if relative not in leave_out:
                archive.add(str(path), arcname=relative)
        for relative in add:
            write(tmp_path / "added" / relative, "x\n")
            archive.add(str(tmp_path / "added" / relative), arcname=relative)
    return tarball


def tarball_problems(tarball, root):
    problems, _count = tarball_check.check(tarball_check.tarball_files(tarball), root)
    return "\n".join(problems)


def test_sound_tarball_passes(source, tmp_path):
    assert tarball_problems(make_tarball(source, tmp_path), source) == ""


def test_tarball_shipping_bench_fails(source, tmp_path):
    tarball = make_tarball(source, tmp_path, add=["bench/run_bench.py", "bench/README.md"])
    assert "ships bench/run_bench.py (bench/ runs only from a checkout)" in tarball_problems(tarball, source)


@pytest.mark.parametrize("path", ["scripts/demo.sh", "tests/output/junit/x.xml", "plugins/__pycache__/x.pyc",
                                  ".ci/gates.sh", "Makefile", "hostup-cloud-0.1.0.tar.gz"])
def test_tarball_shipping_checkout_only_files_fails(source, tmp_path, path):
    assert "ships %s" % path in tarball_problems(make_tarball(source, tmp_path, add=[path]), source)


@pytest.mark.parametrize("path", ["plugins/modules/beta_thing.py", "roles/port25_unblock/tasks/main.yml",
                                  "docs/guide.md", "README.md", "CHANGELOG.md", "meta/runtime.yml"])
def test_tarball_lacking_a_required_file_fails(source, tmp_path, path):
    assert "lacks %s" % path in tarball_problems(make_tarball(source, tmp_path, leave_out=[path]), source)


def test_tarball_check_exits_zero_when_sound_and_one_when_broken(source, tmp_path):
    def run(tarball):
        return subprocess.run(
            [sys.executable, str(HERE / "check_tarball.py"), str(tarball), str(source)],
            capture_output=True, text=True, check=False,
        )

    sound = run(make_tarball(source, tmp_path))
    assert sound.returncode == 0, sound.stdout
    broken = run(make_tarball(source, tmp_path, add=["bench/run_bench.py"]))
    assert broken.returncode == 1, broken.stdout
    assert "problem(s)" in broken.stdout

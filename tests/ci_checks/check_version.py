#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that the collection states one version everywhere.

- galaxy.yml `version` must equal COLLECTION_VERSION in plugins/module_utils/_version.py
  (the User-Agent is built from that constant, so the plugin code that sends a
  User-Agent must use it rather than a version written out by hand).
- changelogs/changelog.yaml must agree: either the version is released there and is its
  newest release, or it is the upcoming release, newer than every release recorded (and
  than the ancestor). With --released only the first is accepted (use it when tagging).

Usage: check_version.py [--released] [COLLECTION_ROOT]   (default: this checkout)
"""

from __future__ import annotations

import ast
import pathlib
import re
import sys

import yaml

VERSION_FILE = "plugins/module_utils/_version.py"
VERSION_CONSTANT = "COLLECTION_VERSION"
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
# A User-Agent product token with a version typed in, e.g. "hostup.cloud/0.1.0".
HARD_CODED_USER_AGENT = re.compile(r"""["']hostup[\w.-]*/\d+\.\d+""")


def semver_key(version):
    """Sort key for a semantic version: a pre-release sorts before its release."""
    match = SEMVER.match(str(version))
    if not match:
        raise ValueError("%r is not a semantic version" % (version,))
    major, minor, patch, prerelease = match.groups()
    release = (int(major), int(minor), int(patch))
    if prerelease is None:
        return release + (1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in prerelease.split("."))
    return release + (0, parts)


def constant_from(path, name):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
    return None


def check_user_agent(root, problems):
    """The User-Agent must come from COLLECTION_VERSION, not from a version typed in."""
    sends_user_agent = False
    uses_constant = False
    for path in sorted((root / "plugins").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        if rel != VERSION_FILE and VERSION_CONSTANT in text:
            uses_constant = True
        if "user-agent" in text.lower():
            sends_user_agent = True
        for match in HARD_CODED_USER_AGENT.finditer(text):
            problems.append("%s: hard-coded version in %s...; build it from %s" % (rel, match.group(0), VERSION_CONSTANT))
    if sends_user_agent and not uses_constant:
        problems.append("plugins/: a User-Agent is sent but no plugin code uses %s from %s" % (VERSION_CONSTANT, VERSION_FILE))


def check(root, released=False):
    """Return (problems, version) for the collection at `root`."""
    problems = []
    galaxy = yaml.safe_load((root / "galaxy.yml").read_text(encoding="utf-8")) or {}
    version = str(galaxy.get("version", ""))
    try:
        semver_key(version)
    except ValueError as exc:
        return ["galaxy.yml: version %s" % exc], version

    version_file = root / VERSION_FILE
    if not version_file.is_file():
        problems.append("%s: missing" % VERSION_FILE)
    else:
        code_version = constant_from(version_file, VERSION_CONSTANT)
        if code_version is None:
            problems.append("%s: no string constant %s" % (VERSION_FILE, VERSION_CONSTANT))
        elif code_version != version:
            problems.append(
                "%s: %s = %r but galaxy.yml version is %r" % (VERSION_FILE, VERSION_CONSTANT, code_version, version)
            )
    check_user_agent(root, problems)

    changelog = yaml.safe_load((root / "changelogs" / "changelog.yaml").read_text(encoding="utf-8")) or {}
    releases = [str(v) for v in (changelog.get("releases") or {})]
    ancestor = changelog.get("ancestor")
    try:
        newest = max(releases, key=semver_key) if releases else None
        floor = max([v for v in (newest, ancestor) if v], key=semver_key, default=None)
    except ValueError as exc:
        return problems + ["changelogs/changelog.yaml: %s" % exc], version

    if version in releases:
        if version != newest:
            problems.append(
                "changelogs/changelog.yaml: newest release is %s but galaxy.yml version is %s" % (newest, version)
            )
    elif released:
        problems.append("changelogs/changelog.yaml: version %s is not released (no entry in releases)" % version)
    elif floor is not None and semver_key(version) <= semver_key(floor):
        problems.append(
            "changelogs/changelog.yaml: galaxy.yml version %s is neither released nor newer than %s" % (version, floor)
        )
    return problems, version


def main(argv):
    args = argv[1:]
    released = "--released" in args
    args = [a for a in args if a != "--released"]
    root = pathlib.Path(args[0] if args else pathlib.Path(__file__).resolve().parents[2])
    problems, version = check(root, released=released)
    for problem in problems:
        print(problem)
    if problems:
        print("version check: %d problem(s)" % len(problems))
        return 1
    print("version check: OK, %s in galaxy.yml, %s and changelogs/changelog.yaml" % (version, VERSION_FILE))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

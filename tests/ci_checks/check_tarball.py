#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check the file list of a built collection tarball against what it must and must not ship.

Must not ship: what only runs from a checkout (scripts/, bench/, the Makefile, CI files) and what a
developer's checkout collects (tests/output, caches, tarballs).
Must ship: MANIFEST.json, FILES.json, README.md, CHANGELOG.md, the meta/ files, and every file
of the source tree under plugins/modules, roles/port25_unblock and docs (each of which must exist).

Usage: check_tarball.py TARBALL SOURCE_ROOT
  SOURCE_ROOT is the tree the tarball was built from (what git would commit).
"""

from __future__ import annotations

import pathlib
import re
import sys
import tarfile

# A path (relative to the collection root) that matches one of these is never shipped.
FORBIDDEN = [
    (re.compile(r"^scripts(/|$)"), "scripts/ runs only from a checkout"),
    (re.compile(r"^bench(/|$)"), "bench/ runs only from a checkout"),
    (re.compile(r"^Makefile$"), "the Makefile runs only from a checkout"),
    (re.compile(r"^tests/output(/|$)"), "ansible-test output"),
    (re.compile(r"^tests/integration/(inventory|integration_config\.yml)$"), "ansible-test output"),
    (re.compile(r"(^|/)(\.ci|\.git|\.ansible|\.pytest_cache|__pycache__|\.venv)(/|$)"), "CI files or caches"),
    (re.compile(r"\.(pyc|tar\.gz)$"), "compiled files or tarballs"),
]
REQUIRED_FILES = ["MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "meta/runtime.yml",
                  "meta/execution-environment.yml"]
# Every file the source tree holds under these folders ships; each folder must hold files.
REQUIRED_TREES = ["plugins/modules", "roles/port25_unblock", "docs"]


def tarball_files(tarball):
    """The regular files of a collection tarball, as paths relative to the collection root."""
    with tarfile.open(tarball, "r:gz") as archive:
        return sorted(re.sub(r"^\./", "", member.name) for member in archive.getmembers() if member.isfile())


def source_files(root, tree):
    base = pathlib.Path(root)
    return sorted(
        path.relative_to(base).as_posix()
        for path in (base / tree).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def check(files, root):
    """Returns (problems, number of files) for a tarball's file list and its source tree."""
    problems = []
    shipped = set(files)
    for path in files:
        for pattern, why in FORBIDDEN:
            if pattern.search(path):
                problems.append("ships %s (%s)" % (path, why))
                break
    for path in REQUIRED_FILES:
        if path not in shipped:
            problems.append("lacks %s" % path)
    for tree in REQUIRED_TREES:
        expected = source_files(root, tree)
        if not expected:
            problems.append("the source tree has no files under %s/" % tree)
        for path in expected:
            if path not in shipped:
                problems.append("lacks %s" % path)
    return problems, len(files)


def main(argv):
    if len(argv) != 3:
        print("usage: check_tarball.py TARBALL SOURCE_ROOT")
        return 2
    problems, count = check(tarball_files(argv[1]), argv[2])
    for problem in problems:
        print(problem)
    if problems:
        print("tarball check: %d problem(s)" % len(problems))
        return 1
    print("tarball check: OK, %d files; no scripts/, bench/, tests output or caches; %s and %s complete"
          % (count, ", ".join(REQUIRED_FILES[2:]), ", ".join(t + "/" for t in REQUIRED_TREES)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

# -*- coding: utf-8 -*-
# Copyright (c) 2026, hostup.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's version, in one place (a CI check keeps it equal to galaxy.yml's)."""

from __future__ import annotations

COLLECTION_VERSION = "0.1.0"

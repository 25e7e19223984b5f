#!/usr/bin/env python3
"""Placeholder: written with the shared-model issue."""
print("1..0 # SKIP not written yet")

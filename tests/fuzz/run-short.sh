#!/bin/sh
# Placeholder: the short fuzz run lands with the reliability issue.
echo "1..0 # SKIP not written yet"

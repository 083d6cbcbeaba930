#!/usr/bin/env bash
# test_compact_many_l0 on 10,000 tiny level-0 segments (5,000 overlapping,
# 5,000 disjoint): --full in one pass, --full in rounds of 64, and a plain
# compact, each against the reference model (that script says what each
# checks).
# ranks: 2 4
MC_L0_SEGMENTS=10000 exec bash "$(dirname "$0")/test_compact_many_l0.sh" "$@"

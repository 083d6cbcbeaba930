#!/usr/bin/env bash
# Help, version and the man page: `mpicompact COMMAND --help` (and -h, and
# `mpicompact help COMMAND`) lists every option with a meaning and a default
# and exits 0 at any rank count; every option the help lists is accepted by
# the parser; docs/mpicompact.1 documents exactly the commands of
# `mpicompact help` and, per command, exactly the options of its --help (the
# man page cannot drift from the tool); --version/-V names HDF5 and MPI.
# ranks: 1
source "$(dirname "$0")/lib.sh"

MAN=$MC_SRC/docs/mpicompact.1
run_ok mc --help
commands=$(sed -n 's/^  \([a-z]\+\)  .*/\1/p' "$MC_OUT")
[[ $(wc -w <<<"$commands") -ge 11 ]] || fail "mpicompact --help lists too few commands: $commands"

# Options of COMMAND as its --help lists them (sorted).
help_opts() { sed -n '/^options:/,/^$/p' "$1" | grep -o '^  --[a-z0-9-]*' | tr -d ' ' | sort; }
# Options of COMMAND in the man page: the .TP items of its .SS section.
man_opts() {
    awk -v c="$1" '/^\.SS /{on = ($2 == c)} /^\.S[HS] / && !/^\.SS /{on = 0} on' "$MAN" |
        grep -A1 '^\.TP' | grep -o '^\.BI\? \\-\\-[a-z0-9\\-]*' | sed 's/^\.BI\? //; s/\\-/-/g' | sort
}

for c in $commands; do
    run_ok mc "$c" --help
    cp "$MC_OUT" "$MC_TMP/$c.help"
    assert_grep "^usage: mpicompact $c" "$MC_OUT" "$c --help: usage line"
    assert_grep '^  -h, --help' "$MC_OUT" "$c --help lists -h"
    # Every option line has a meaning and a default.
    while IFS= read -r line; do
        [[ $line =~ \(default:\ .+\)$ ]] || fail "$c --help: option without a default: $line"
    done < <(sed -n '/^options:/,/^$/p' "$MC_OUT" | grep '^  --\|^   ' | grep '(default' || true)
    n_opt=$(sed -n '/^options:/,/^$/p' "$MC_OUT" | grep -c '^  --' || true)
    n_def=$(sed -n '/^options:/,/^$/p' "$MC_OUT" | grep -c '(default: ' || true)
    assert_eq "$n_def" "$n_opt" "$c --help: every option says its default"
    # The man page has the command and the same options.
    grep -q "^\.SS $c\b" "$MAN" || fail "man page: no section for $c"
    diff <(help_opts "$MC_TMP/$c.help") <(man_opts "$c") >"$MC_TMP/diff" ||
        { cat "$MC_TMP/diff" >&2; fail "man page options of $c differ from $c --help (< help, > man)"; }
    # Every listed option is one the parser knows: given all at once, none
    # is refused as unknown (the command then fails for other reasons).
    opts=()
    for o in $(help_opts "$MC_TMP/$c.help"); do opts+=("$o=1"); done
    if ((${#opts[@]})); then
        "$MC_BIN" "$c" "$MC_TMP/no-such-store" "${opts[@]}" >/dev/null 2>"$MC_TMP/err" </dev/null || true
        grep 'unknown option' "$MC_TMP/err" && fail "$c: an option of its --help is refused by the parser"
    fi
done
# -h and `help COMMAND` are the same help (each MPI start costs a second:
# two commands stand for all).
for c in scan check; do
    run_ok mc "$c" -h
    cmp -s "$MC_OUT" "$MC_TMP/$c.help" || fail "$c -h differs from $c --help"
    run_ok mc help "$c"
    cmp -s "$MC_OUT" "$MC_TMP/$c.help" || fail "help $c differs from $c --help"
done
# Under mpirun, help comes once (from rank 0) and exits 0 on every rank.
run_ok mc_mpirun 2 compact --help
assert_eq "$(grep -c '^usage:' "$MC_OUT")" 1 "compact --help at 2 ranks: one usage line"
# No man section for a command the tool does not have.
for c in $(sed -n 's/^\.SS \([a-z]\+\) .*/\1/p; s/^\.SS \([a-z]\+\)$/\1/p' "$MAN"); do
    grep -qw "$c" <<<"$commands" || fail "man page documents $c, which mpicompact --help does not list"
done

run_ok mc --version
assert_grep '^mpicompact [0-9]+\.[0-9]+\.[0-9]+$' "$MC_OUT" "--version: ours"
assert_grep '^HDF5 [0-9]+\.[0-9]+\.[0-9]+' "$MC_OUT" "--version: HDF5"
assert_grep '^MPI [0-9]+\.[0-9]+: ' "$MC_OUT" "--version: MPI"
version=$(head -n1 "$MC_OUT" | cut -d' ' -f2)
grep -q "^\.TH MPICOMPACT 1 .*\"mpicompact $version\"" "$MAN" || fail "man page .TH does not say version $version"
run_ok mc -V
assert_grep "^mpicompact $version$" "$MC_OUT" "-V"
expect_fail 2 mc nosuchcommand --help

pass

#!/usr/bin/env bash
# Seed the fuzz corpora from the shipped policies, the check cases and the
# example and bad households. Run from anywhere; writes fuzz/corpus/<target>/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
corpus="$here/corpus"
mkdir -p "$corpus"/{parse,parse_differential,format,check,eval_json,eval_struct}

n=0
for f in "$root"/policies/*.policy "$root"/policies/*/*.policy "$root"/tests/cases/check/*.policy; do
  [ -f "$f" ] || continue
  base="$(basename "$f" .policy)"
  cp "$f" "$corpus/parse/$base-$n.policy"
  cp "$f" "$corpus/parse_differential/$base-$n.policy"
  cp "$f" "$corpus/format/$base-$n.policy"
  # check: the first byte picks the mode (0: append to a shipped policy,
  # 1: after a 石家庄 header, 2: alone)
  for mode in 0 1 2; do
    { printf "\\x0$mode"; cat "$f"; } > "$corpus/check/$base-$n-$mode"
  done
  n=$((n + 1))
done
# rule fragments for the check target (mode 1: after a header)
for f in "$root"/policies/hebei/shijiazhuang.policy; do
  awk '/^rule /,/^}/' "$f" > "$corpus/check/rules-only.tmp"
  { printf '\x01'; cat "$corpus/check/rules-only.tmp"; } > "$corpus/check/rules-only"
  rm "$corpus/check/rules-only.tmp"
done

# eval_json: the first byte picks the assessment date (see DATES in src/lib.rs)
for f in "$root"/examples/households/*.json "$root"/tests/bad-households/*.json; do
  [ -f "$f" ] || continue
  base="$(basename "$f" .json)"
  for d in 1 3 4; do
    { printf "\\x0$d"; cat "$f"; } > "$corpus/eval_json/$base-$d"
  done
done

# eval_struct takes structured input from raw bytes: a few random seeds.
for i in 1 2 3 4 5 6 7 8; do
  head -c 4096 /dev/urandom > "$corpus/eval_struct/random-$i"
done

for t in parse parse_differential check eval_json eval_struct; do
  echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done

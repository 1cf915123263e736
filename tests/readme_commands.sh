#!/usr/bin/env bash
# Keeps README.md's short commands true: runs each one and fails when one exits non-zero.
#
# Usage: readme_commands.sh PARADNN_BINARY SOURCE_DIR
#
# Which commands: a fenced ```sh block in README.md whose previous line is exactly
# `<!-- quick -->` is a quick block. Every line in it that starts with `paradnn ` or
# `./build/bin/paradnn ` is one command (other lines, e.g. comments, are ignored). A quick
# block must hold only commands that finish in seconds on tiny inputs; the set-up commands
# (they install packages and build) are never marked quick. At least MIN_COMMANDS commands
# must be found, so that dropping the markers cannot make this test pass vacuously.
#
# How they run: in order, all in one fresh temporary directory (so later commands may read
# what earlier ones wrote), by `bash -c` with `set -eo pipefail`. That directory holds
# symlinks `configs` and `docs` to the source tree's folders, `build/bin/paradnn` (a symlink
# to the binary) and `results/quick.csv`, which stands in for the default sweep's output:
# a 2-point run of configs/quick.yaml made before the README's commands. `paradnn` is the
# binary (first on PATH). PARADNN_PYTHON points nowhere, so `report` writes data, not plots.
# Each command gets at most 60 s.
set -uo pipefail
BIN=${1:?usage: readme_commands.sh PARADNN_BINARY SOURCE_DIR}
SRC=${2:?usage: readme_commands.sh PARADNN_BINARY SOURCE_DIR}
MIN_COMMANDS=8
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[ -x "$BIN" ] || { echo "not executable: $BIN"; exit 1; }
README="$SRC/README.md"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/paradnn-readme.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/build/bin" "$WORK/results"
ln -s "$BIN" "$WORK/bin/paradnn"
ln -s "$BIN" "$WORK/build/bin/paradnn"
ln -s "$SRC/configs" "$WORK/configs"
ln -s "$SRC/docs" "$WORK/docs"
export PATH="$WORK/bin:$PATH"
export PARADNN_PYTHON="$WORK/no-such-python"

# The quick blocks' commands, one per line.
mapfile -t COMMANDS < <(awk '
  /^```/ { if (inblock) { inblock = 0; next } if (marked && $0 == "```sh") inblock = 1; marked = 0; next }
  inblock { if ($0 ~ /^(paradnn |\.\/build\/bin\/paradnn )/) print; next }
  { marked = ($0 == "<!-- quick -->") }
' "$README")

if [ "${#COMMANDS[@]}" -lt "$MIN_COMMANDS" ]; then
  echo "FAIL: found ${#COMMANDS[@]} quick commands in $README, expected at least $MIN_COMMANDS"
  echo "(mark a \`\`\`sh block with <!-- quick --> on the line before it)"
  exit 1
fi

cd "$WORK" || exit 1
# Stand-in for the default sweep's results/quick.csv (the set-up command is not run here).
if ! timeout 60 paradnn run configs/quick.yaml --filter 'family==fc,nodes==256,layers==2,mode==infer' \
     --no-ceilings -q >"$WORK/fixture.log" 2>&1; then
  cat "$WORK/fixture.log"; echo "FAIL: could not make results/quick.csv"; exit 1
fi

failed=0
n=0
for cmd in "${COMMANDS[@]}"; do
  n=$((n + 1))
  echo "[$n/${#COMMANDS[@]}] $cmd"
  start=$(date +%s.%N)
  timeout 60 bash -c "set -eo pipefail; $cmd" >"$WORK/out.log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  awk -v rc="$rc" -v a="$start" -v b="$end" 'BEGIN { printf "    exit %d, %.1f s\n", rc, b - a }'
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: README command exited $rc: $cmd"
    sed 's/^/    | /' "$WORK/out.log" | tail -40
    failed=$((failed + 1))
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "$failed of $n README commands failed"
  exit 1
fi
echo "all $n quick README commands ran"

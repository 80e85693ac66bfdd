#!/usr/bin/env bash
# The formatting and lint gate `npm test` runs first (as every model project does): clang-format
# (Debian 12's clang-format-14, pinned because each version formats differently) over native/, and
# Biome (formatter + linter, one dev dependency with no plugins) over the TypeScript and JavaScript.
# `bash scripts/lint.sh --fix` (npm run format) rewrites the files instead of checking them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fix=0
[ "${1:-}" = --fix ] && fix=1

clang_format=$(command -v clang-format-14 || true)
if [ -z "$clang_format" ]; then
  echo "lint: clang-format-14 is not installed; install it with: apt-get install clang-format-14 (scripts/setup.sh does)" >&2
  exit 1
fi
mapfile -t native < <(find native -path native/third_party -prune -o -type f \( -name '*.cc' -o -name '*.h' \) -print | sort)
if [ "$fix" = 1 ]; then
  "$clang_format" -i "${native[@]}"
  npx biome check --write .
else
  "$clang_format" --dry-run --Werror "${native[@]}"
  npx biome check .
fi

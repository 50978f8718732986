#!/usr/bin/env bash
# Builds @netmesh/core as it is on a git ref (default: main) into a temp dir, so the ingest benchmark can
# run today's path and the working tree's side by side in one process:
#   NETMESH_BASELINE_CORE=$(bash apps/bench/scripts/build-baseline-core.sh main) pnpm bench:ingest
# Prints the path of the built entry (an ES module). Bundled with the esbuild that tsup uses.
set -euo pipefail
ref="${1:-main}"
root="$(git rev-parse --show-toplevel)"
out="$(mktemp -d "${TMPDIR:-/tmp}/netmesh-core-${ref//\//-}-XXXXXX")"
git -C "$root" archive "$ref" packages/core/src | tar -x -C "$out"
# xxhash-wasm and the other runtime dependencies resolve from the working tree's core package.
ln -s "$root/packages/core/node_modules" "$out/packages/core/node_modules"
esbuild="$(ls -d "$root"/node_modules/.pnpm/esbuild@*/node_modules/esbuild/bin/esbuild | tail -1)"
"$esbuild" "$out/packages/core/src/index.ts" --bundle --format=esm --platform=node --target=node20 \
  --packages=external --outfile="$out/packages/core/dist/index.js" --log-level=warning
echo "$out/packages/core/dist/index.js"

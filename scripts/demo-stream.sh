#!/usr/bin/env bash
# npm run demo:stream — the reference lakehouse on a live stream.
#
# Copies the reference project to a temp folder, starts the landing-zone generator with --follow
# (a new arrival every second, one simulated hour each: Kafka files for bpm, workout and user_info,
# hourly CSV extracts) and, beside it, `lake run --continuous`, which ingests each new file once and
# rebuilds what is downstream. Every batch prints what it ingested and the size of the two gold
# reports, which grow as workouts complete and gym visits are extracted. Ctrl-C stops both: lake
# finishes the batch it is in, commits and exits.
#
# Settings (environment): DEMO_USERS (default 40), DEMO_INTERVAL (lake's polling interval,
# default 2s), DEMO_BATCHES (stop after N batches; default: run until Ctrl-C), DEMO_KEEP=1 (keep
# the temp folder, e.g. to `lake show gold.workout_bpm_summary --project-dir <it>` afterwards).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ! -f "$root/dist/src/cli/main.js" || ! -f "$root/dist/tools/generate/cli.js" ]]; then
  echo "demo:stream needs the compiled CLI and generator: run npm run build first" >&2
  exit 2
fi

users="${DEMO_USERS:-40}"
interval="${DEMO_INTERVAL:-2s}"
work="$(mktemp -d "${TMPDIR:-/tmp}/lake-demo-XXXXXX")"
for part in project.yml models macros seeds data_tests; do cp -R "$root/$part" "$work/"; done

gen_pid=""
cleanup() {
  if [[ -n "$gen_pid" ]] && kill -0 "$gen_pid" 2>/dev/null; then
    kill -TERM "$gen_pid" 2>/dev/null || true
    wait "$gen_pid" 2>/dev/null || true
  fi
  if [[ "${DEMO_KEEP:-}" == 1 ]]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "lake demo: $users watch users streaming into $work/landing"
echo "generator: one arrival per second (one simulated hour); lake: polls every $interval"
node "$root/dist/tools/generate/cli.js" --users "$users" --days 1 --seed demo --out "$work/landing" --follow \
  >"$work/generator.log" 2>&1 &
gen_pid=$!

# The first arrival (a simulated day) must exist before lake's first batch, and be a second old:
# lake run --continuous holds back younger files (they may still be being written).
for _ in $(seq 1 100); do
  [[ -d "$work/landing/stream/bpm" ]] && break
  sleep 0.1
done
sleep 1.2

# lake writes JSON lines (--log-format json); the viewer below turns each batch into one line.
view='
import * as readline from "node:readline";
process.on("SIGINT", () => {}); // Ctrl-C: lake finishes its batch; keep printing until it exits
process.on("SIGTERM", () => {});
const gold = new Map();
let ingested = {};
const fmt = (n) => Number(n).toLocaleString("en-US");
const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  let e;
  try { e = JSON.parse(line); } catch { console.log(line); continue; }
  if (e.kind === "node_end") {
    if (e.status !== "success") console.log(`  ${e.id}: ${e.status} ${e.error ?? e.message ?? ""}`);
    else if (e.id.startsWith("bronze.")) ingested[e.id.slice(7)] = (ingested[e.id.slice(7)] ?? 0) + (e.rows ?? 0);
    else if (e.id.startsWith("gold.")) {
      const before = gold.get(e.id);
      gold.set(e.id, { rows: e.rows, delta: before === undefined ? e.rows : e.rows - before.rows });
    }
  } else if (e.kind === "run_end") {
    const t = e.ts.slice(11, 19);
    const inn = Object.entries(ingested).filter(([, n]) => n > 0).map(([k, n]) => `${k} +${fmt(n)}`).join(", ") || "nothing new";
    const out = [...gold].map(([k, g]) => `${k.slice(5)} ${fmt(g.rows)} rows (${g.delta >= 0 ? "+" : ""}${fmt(g.delta)})`).join(", ");
    console.log(`[${t}] ingested ${inn} | ${out}`);
    ingested = {};
    for (const g of gold.values()) g.delta = 0; // a report this batch did not rebuild did not change
  } else if (e.kind === "diagnostic") {
    console.log(`  ${e.severity}: ${e.message}`);
  } else if (e.kind === "error" || e.kind === "info") {
    console.log(`  ${e.message}`);
  }
}
'
args=(run --project-dir "$work" --continuous --interval "$interval" --log-format json)
if [[ -n "${DEMO_BATCHES:-}" ]]; then args+=(--max-batches "$DEMO_BATCHES"); fi
node "$root/bin/lake.js" "${args[@]}" | node --input-type=module -e "$view"

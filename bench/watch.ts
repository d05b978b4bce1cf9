/**
 * Benchmark of `lake watch`: from a real file write to the rebuilt model, end to end.
 *
 *   node dist/bench/watch.js [--model silver.workout_bpm] [--saves 20] [--debounce 10] [--generated] [--reload]
 *
 * Copies the reference project at the repository root (project.yml, models, macros, seeds,
 * landing, data_tests) to a temp folder — or, with --generated or when there is none, writes a
 * generated project of the same shape — starts the watch in this process (real chokidar, real
 * DuckDB, the initial build included but not timed), then saves one silver model `saves` times,
 * a human pace apart (each save changes a comment line, so the SQL changes and the model and its
 * descendants are rebuilt). For each save it takes the time from just before `writeFileSync` to:
 * the watch starting its cycle (file event + debounce), the end of recompiling, the changed
 * model's result being reported, and the whole cycle (descendants included) ending; and the
 * model's own build time as the executor reports it. The watch's default compiler patches the
 * saved file into the compiled project (IncrementalCompiler); --reload measures the first
 * version, which re-loaded and recompiled the whole project on every save (ReloadingCompiler).
 * Prints one JSON line with p50 and p95 of each.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReloadingCompiler, Watch, type CycleReport } from '../src/watch/index.js';
import type { NodeResult, Reporter, RunSummary } from '../src/reporter/types.js';
import type { Diagnostic } from '../src/errors/index.js';
import { formatDiagnostic } from '../src/errors/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Records when each node's result arrives; prints nothing except errors. */
class TimingReporter implements Reporter {
  readonly ends = new Map<string, { at: number; result: NodeResult }[]>();
  readonly problems: string[] = [];
  diagnostics(list: readonly Diagnostic[]): void {
    for (const d of list) if (d.severity === 'error') this.problems.push(formatDiagnostic(d));
  }
  runStart(): void {}
  nodeStart(): void {}
  nodeEnd(r: NodeResult): void {
    const list = this.ends.get(r.id) ?? [];
    list.push({ at: performance.now(), result: r });
    this.ends.set(r.id, list);
    if (r.status === 'error') this.problems.push(`${r.id}: ${r.error}`);
  }
  runEnd(_s: RunSummary): void {}
  info(): void {}
  record(): void {}
  error(text: string): void {
    this.problems.push(text);
  }
}

/** The reference project's files, copied; undefined when the repository has none yet. */
function copyReference(dir: string): boolean {
  if (!fs.existsSync(path.join(repoRoot, 'project.yml')) || !fs.existsSync(path.join(repoRoot, 'models', 'silver'))) return false;
  for (const part of ['project.yml', 'models', 'macros', 'seeds', 'landing', 'data_tests']) {
    const from = path.join(repoRoot, part);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, part), { recursive: true });
  }
  return true;
}

/**
 * A project shaped like the reference one (seed-fed instead of landing-fed): 5 seeds → 5 bronze
 * views → 9 silver tables → 2 gold tables, two macros, YAML beside the models.
 */
function generateProject(dir: string): void {
  const w = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  w('project.yml', `name: bench_watch
target: dev
targets:
  dev: { type: duckdb, path: target/bench.duckdb, threads: 2 }
vars: { min_heart_rate: 20, max_heart_rate: 250 }
models:
  bronze: { materialized: view }
  silver: { materialized: table }
  gold: { materialized: table }
`);
  const users = 200;
  w('seeds/raw_users.csv', `user_id,device_id,birth_year,sex,city\n${Array.from({ length: users }, (_, i) => `${i + 1},${1000 + i},${1950 + (i % 50)},${i % 2 ? 'F' : 'M'},city_${i % 17}`).join('\n')}\n`);
  w('seeds/raw_bpm.csv', `device_id,time,heartrate\n${Array.from({ length: 20000 }, (_, i) => `${1000 + (i % users)},2024-01-01 ${String(Math.floor(i / 1000) % 24).padStart(2, '0')}:${String(Math.floor(i / 17) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')},${40 + (i % 150)}`).join('\n')}\n`);
  w('seeds/raw_workouts.csv', `user_id,workout_id,session_id,start_time,end_time\n${Array.from({ length: 400 }, (_, i) => `${(i % users) + 1},${i % 7},${i + 1},2024-01-01 0${i % 9}:00:00,2024-01-01 0${i % 9}:45:00`).join('\n')}\n`);
  w('seeds/raw_gym_logins.csv', `mac_address,gym,login,logout\n${Array.from({ length: 300 }, (_, i) => `mac_${i % 40},${i % 5},2024-01-01 0${i % 9}:00:00,2024-01-01 0${i % 9}:50:00`).join('\n')}\n`);
  w('seeds/age_bands.csv', 'age_band,min_age,max_age\nunder 18,,18\n18-25,18,25\n25-35,25,35\n35-45,35,45\n45+,45,\n');
  w('macros/ages.sql', `{% macro age_in_years(year_col) -%}\n(2024 - {{ year_col }})\n{%- endmacro %}\n`);
  w('macros/bounds.sql', `{% macro valid_bpm(col) -%}\n{{ col }} between {{ var('min_heart_rate') }} and {{ var('max_heart_rate') }}\n{%- endmacro %}\n`);
  for (const s of ['users', 'bpm', 'workouts', 'gym_logins']) w(`models/bronze/${s}.sql`, `select * from {{ ref('raw_${s}') }}\n`);
  w('models/bronze/age_bands_raw.sql', `select * from {{ ref('age_bands') }}\n`);
  w('models/silver/users.sql', `select user_id, device_id, birth_year, sex, city from {{ ref('bronze', 'users') }}\n`);
  w('models/silver/heart_rate.sql', `select device_id, cast(time as timestamp) as time, heartrate from {{ ref('bronze', 'bpm') }} where {{ valid_bpm('heartrate') }}\n`);
  w('models/silver/workouts.sql', `select user_id, workout_id, session_id, cast(start_time as timestamp) as start_time, cast(end_time as timestamp) as end_time from {{ ref('bronze', 'workouts') }}\n`);
  w('models/silver/completed_workouts.sql', `select * from {{ ref('silver', 'workouts') }} where end_time > start_time\n`);
  w('models/silver/gym_logs.sql', `select mac_address, gym, cast(login as timestamp) as login, cast(logout as timestamp) as logout from {{ ref('bronze', 'gym_logins') }}\n`);
  w('models/silver/user_profile.sql', `select u.*, {{ age_in_years('birth_year') }} as age from {{ ref('silver', 'users') }} u\n`);
  w('models/silver/user_bins.sql', `select p.user_id, b.age_band as age, p.sex, p.city
from {{ ref('silver', 'user_profile') }} p
join {{ ref('age_bands_raw') }} b on (b.min_age is null or p.age >= b.min_age) and (b.max_age is null or p.age < b.max_age)
`);
  w('models/silver/workout_bpm.sql', `select w.user_id, w.workout_id, w.session_id, h.time, h.heartrate
from {{ ref('silver', 'completed_workouts') }} w
join {{ ref('silver', 'users') }} u on u.user_id = w.user_id
join {{ ref('silver', 'heart_rate') }} h on h.device_id = u.device_id and h.time between w.start_time and w.end_time
`);
  w('models/silver/workout_bpm_stats.sql', `select user_id, workout_id, session_id, min(heartrate) as min_bpm, avg(heartrate) as avg_bpm, max(heartrate) as max_bpm, count(*) as readings
from {{ ref('silver', 'workout_bpm') }}
group by all
`);
  w('models/gold/workout_bpm_summary.sql', `select s.*, b.age, b.sex, b.city from {{ ref('silver', 'workout_bpm_stats') }} s join {{ ref('silver', 'user_bins') }} b using (user_id)\n`);
  w('models/gold/gym_summary.sql', `select gym, mac_address, cast(login as date) as date, sum(date_diff('minute', login, logout)) as minutes_in_gym from {{ ref('silver', 'gym_logs') }} group by all\n`);
  w('models/silver/silver.yml', `models:\n  - name: users\n    description: One row per user.\n  - name: workout_bpm\n    description: Readings inside workouts.\n`);
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface WatchBenchResult {
  readonly bench: 'watch';
  readonly project: 'reference' | 'generated';
  /** How a save is recompiled: the watch's default (patch the file in) or a whole re-load. */
  readonly compiler: 'incremental' | 'reload';
  readonly model: string;
  readonly saves: number;
  readonly debounce_ms: number;
  readonly rebuilt_per_save: number;
  readonly pickup_p50_ms: number;
  readonly compiled_p50_ms: number;
  /** The model's own build (its transaction), as the executor reports it. */
  readonly model_build_p50_ms: number;
  readonly model_p50_ms: number;
  readonly model_p95_ms: number;
  readonly cycle_p50_ms: number;
  readonly cycle_p95_ms: number;
  readonly goal_model_p50_ms: 150;
  /** model_p50_ms is within the goal. */
  readonly ok: boolean;
}

export interface WatchBenchOptions {
  readonly model?: string;
  readonly saves?: number;
  readonly debounceMs?: number;
  readonly generated?: boolean;
  /** Re-load the whole project on every save (the first version of the watch), to compare. */
  readonly reload?: boolean;
}

/** Run the benchmark once; the temp project is removed afterwards. */
export async function benchWatch(o: WatchBenchOptions = {}): Promise<WatchBenchResult> {
  const model = o.model ?? 'silver.workout_bpm';
  const saves = o.saves ?? 20;
  const debounceMs = o.debounceMs ?? 10;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-bench-watch-'));
  const reference = !o.generated && copyReference(dir);
  if (!reference) generateProject(dir);
  const rep = new TimingReporter();
  const w = new Watch(rep, { projectDir: dir, debounceMs, compiler: o.reload ? new ReloadingCompiler({ projectDir: dir }) : undefined });
  try {
    await w.start();
    const s = w.current;
    if (!s) throw new Error(`the bench project does not compile:\n${rep.problems.join('\n')}`);
    const node = s.compiled.nodes.get(model);
    if (!node) throw new Error(`no model ${model} in the bench project (models: ${[...s.compiled.nodes.keys()].join(', ')})`);
    if (rep.ends.get(model)?.[0]?.result.status !== 'success') throw new Error(`the initial build of ${model} failed:\n${rep.problems.join('\n')}`);
    const file = path.join(dir, node.node.path);
    const original = fs.readFileSync(file, 'utf8');
    const pickup: number[] = [];
    const compiled: number[] = [];
    const modelMs: number[] = [];
    const cycleMs: number[] = [];
    const nodeMs: number[] = [];
    let rebuilt = 0;
    const warmup = 2;
    for (let k = 0; k < warmup + saves; k++) {
      const cycle = new Promise<{ r: CycleReport; at: number }>((resolve) => {
        const off = w.onCycle((r) => {
          if (!r.files.some((f) => f.path === node.node.path)) return;
          off();
          resolve({ r, at: performance.now() });
        });
      });
      const before = rep.ends.get(model)?.length ?? 0;
      const t0 = performance.now();
      fs.writeFileSync(file, `-- bench save ${k}\n${original}`);
      const { r, at } = await cycle;
      const end = rep.ends.get(model)?.[before];
      if (!end || end.result.status !== 'success') throw new Error(`save ${k}: ${model} was not rebuilt:\n${rep.problems.join('\n')}`);
      if (k >= warmup) {
        const started = at - r.totalMs;
        pickup.push(started - t0);
        compiled.push(started + r.compileMs - t0);
        modelMs.push(end.at - t0);
        nodeMs.push(end.result.durationMs);
        cycleMs.push(at - t0);
        rebuilt = r.results.length;
      }
      // A person saves every few seconds at most; leave the machine quiet between saves.
      await new Promise((res) => setTimeout(res, 250));
    }
    const round = (x: number) => Math.round(x * 10) / 10;
    const p50 = percentile(modelMs, 50);
    return {
      bench: 'watch', project: reference ? 'reference' : 'generated', compiler: o.reload ? 'reload' : 'incremental', model, saves, debounce_ms: debounceMs, rebuilt_per_save: rebuilt,
      pickup_p50_ms: round(percentile(pickup, 50)), compiled_p50_ms: round(percentile(compiled, 50)),
      model_build_p50_ms: round(percentile(nodeMs, 50)),
      model_p50_ms: round(p50), model_p95_ms: round(percentile(modelMs, 95)),
      cycle_p50_ms: round(percentile(cycleMs, 50)), cycle_p95_ms: round(percentile(cycleMs, 95)),
      goal_model_p50_ms: 150, ok: p50 <= 150,
    };
  } finally {
    await w.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchWatch({
    model: arg('--model'),
    saves: arg('--saves') ? Number(arg('--saves')) : undefined,
    debounceMs: arg('--debounce') ? Number(arg('--debounce')) : undefined,
    generated: process.argv.includes('--generated'),
    reload: process.argv.includes('--reload'),
  }).then(
    (r) => { process.stdout.write(`${JSON.stringify(r)}\n`); },
    (e) => { process.stderr.write(`${(e as Error).message}\n`); process.exitCode = 1; },
  );
}

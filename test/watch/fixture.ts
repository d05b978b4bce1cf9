/**
 * A tiny medallion project for the watch tests (seeds → bronze views → silver tables → gold
 * tables, one macro, YAML beside the models), written to a fresh temp folder, and helpers to wait
 * for the watch's next cycle.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CycleReport, Watch } from '../../src/watch/index.js';

export const FILES: Record<string, string> = {
  'project.yml': `name: watch_test
target: dev
targets:
  dev: { type: duckdb, path: target/watch.duckdb, threads: 2 }
vars:
  min_bpm: 0
models:
  bronze: { materialized: view }
  silver: { materialized: table }
  gold: { materialized: table }
`,
  'seeds/raw_users.csv': `user_id,age,city
1,25,Gardena
2,41,Sierra Madre
3,33,Pasadena
`,
  'seeds/raw_bpm.csv': `user_id,bpm
1,80
1,120
2,95
3,150
3,60
`,
  'macros/age_band.sql': `{% macro age_band(col) -%}
case when {{ col }} < 30 then 'under 30' else '30+' end
{%- endmacro %}
`,
  'models/bronze/users_raw.sql': `select * from {{ ref('raw_users') }}
`,
  'models/bronze/bpm_raw.sql': `select * from {{ ref('raw_bpm') }}
`,
  'models/silver/users.sql': `select
  user_id,
  city,
  {{ age_band('age') }} as age_band
from {{ ref('users_raw') }}
`,
  'models/silver/bpm.sql': `select
  user_id,
  bpm
from {{ ref('bpm_raw') }}
where bpm >= {{ var('min_bpm') }}
`,
  'models/silver/schema.yml': `models:
  - name: users
    description: One row per user.
  - name: bpm
    description: Heart-rate readings.
`,
  'models/gold/bpm_summary.sql': `select u.user_id, u.age_band, min(b.bpm) as min_bpm, max(b.bpm) as max_bpm, count(*) as readings
from {{ ref('silver', 'users') }} u
join {{ ref('silver', 'bpm') }} b using (user_id)
group by all
`,
  'models/gold/users_by_band.sql': `select age_band, count(*) as users
from {{ ref('silver', 'users') }}
group by age_band
`,
};

/** Write `files` (default: the project above, with `overrides`) into a new temp folder. */
export function makeProject(overrides: Record<string, string | null> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-watch-'));
  const files: Record<string, string | null> = { ...FILES, ...overrides };
  for (const [rel, text] of Object.entries(files)) {
    if (text === null) continue;
    const abs = path.join(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, text);
  }
  return dir;
}

/** The next cycle of `w` that satisfies `pred` (register before causing it). */
export function nextCycle(w: Watch, pred: (r: CycleReport) => boolean = () => true, timeoutMs = 20_000): Promise<CycleReport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no watch cycle within ${timeoutMs} ms`)); }, timeoutMs);
    const off = w.onCycle((r) => {
      if (!pred(r)) return;
      clearTimeout(timer);
      off();
      resolve(r);
    });
  });
}

/** Ids of the nodes a cycle built, in build order. */
export function built(r: CycleReport): string[] {
  return r.results.map((x) => x.id);
}

/**
 * `lake source freshness` (dbt source freshness): how long ago each source last received data,
 * against its `freshness:` rules. A source over a table: `max(loaded_at_field)` (with the rule's
 * `filter`); a landing zone: the newest file in its folder (what the files' writer last delivered,
 * whether or not a model has read it yet). Reads only; the results go to target/sources.json.
 */
import type { Adapter } from '../adapter/types.js';
import type { FreshnessRule, SourceNode } from '../core/types.js';
import { sourceRelationSql, sourceUniqueId } from '../core/types.js';
import { discover } from '../ingest/files.js';

export type FreshnessStatus = 'pass' | 'warn' | 'error' | 'runtime error';

export interface FreshnessResult {
  readonly id: string;
  readonly status: FreshnessStatus;
  /** ISO time of the newest data; null when there is none. */
  readonly maxLoadedAt: string | null;
  readonly snapshottedAt: string;
  readonly ageSeconds: number | null;
  readonly criteria: { warn_after: FreshnessRule | null; error_after: FreshnessRule | null; filter: string | null };
  readonly message?: string;
  /** dbt's unique_id (`source.<project>.<source>.<table>`). */
  readonly uniqueId: string;
  /** When the check's query started and ended (ISO). */
  readonly executeStartedAt: string;
  readonly executeCompletedAt: string;
}

const SECONDS = { minute: 60, hour: 3600, day: 86400 } as const;

export function ruleSeconds(r: FreshnessRule): number {
  return r.count * SECONDS[r.period];
}

export function ruleText(r: FreshnessRule): string {
  return `${r.count} ${r.period}${r.count === 1 ? '' : 's'}`;
}

/** The newest data's time in epoch milliseconds (null: no rows / no files). Throws on SQL errors. */
async function newest(db: Adapter, root: string, s: SourceNode): Promise<number | null> {
  if (s.landing) {
    // Every file, young ones too: one still being written has arrived.
    const d = await discover(db, root, { ...s.landing, minFileAgeMs: 0 });
    return d.files.length ? Math.max(...d.files.map((f) => f.mtimeMs)) : null;
  }
  const where = s.freshness?.filter ? ` where ${s.freshness.filter}` : '';
  // epoch_ms takes TIMESTAMP (read as UTC, as dbt does), TIMESTAMPTZ and DATE alike.
  const rows = await db.query<{ ms: unknown }>(`select epoch_ms(max(${s.loadedAtField})) as ms from ${sourceRelationSql(s)}${where}`);
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? null : Number(ms);
}

/** Check one source (of project `project`); never throws (a failing query is a `runtime error` result). */
export async function checkFreshness(db: Adapter, root: string, project: string, s: SourceNode, now = new Date()): Promise<FreshnessResult> {
  const executeStartedAt = new Date().toISOString();
  const r = await judge(db, root, s, now);
  return { ...r, uniqueId: sourceUniqueId(project, s), executeStartedAt, executeCompletedAt: new Date().toISOString() };
}

async function judge(db: Adapter, root: string, s: SourceNode, now: Date): Promise<Omit<FreshnessResult, 'uniqueId' | 'executeStartedAt' | 'executeCompletedAt'>> {
  const f = s.freshness!;
  const criteria = { warn_after: f.warnAfter ?? null, error_after: f.errorAfter ?? null, filter: f.filter ?? null };
  const base = { id: s.id, snapshottedAt: now.toISOString(), criteria };
  if (!s.landing && !s.loadedAtField) {
    return { ...base, status: 'runtime error', maxLoadedAt: null, ageSeconds: null, message: `${s.path}: source ${s.sourceName}.${s.name} has freshness rules but no loaded_at_field (the timestamp column to take the newest of)` };
  }
  let ms: number | null;
  try {
    ms = await newest(db, root, s);
  } catch (e) {
    const what = s.landing ? `listing ${s.landing.relDir}` : `max(${s.loadedAtField}) of ${sourceRelationSql(s)}`;
    const first = (e as Error).message.split('\n')[0]!;
    // epoch_ms() is lake's: a text column is the user's to cast.
    const text = /epoch_ms\((VARCHAR|BLOB)\)/.test(first) ? `loaded_at_field ${s.loadedAtField} is text, not a timestamp: cast it (loaded_at_field: "${s.loadedAtField}::timestamp")` : first;
    return { ...base, status: 'runtime error', maxLoadedAt: null, ageSeconds: null, message: `${s.path}: ${what}: ${text}` };
  }
  if (ms === null) {
    // As dbt (its max_loaded_at is then 0001-01-01): infinitely old — past error_after if there is
    // one, else past warn_after.
    const status = f.errorAfter ? 'error' : f.warnAfter ? 'warn' : 'pass';
    return { ...base, status, maxLoadedAt: null, ageSeconds: null, message: s.landing ? 'no file in the landing folder' : 'no rows' };
  }
  const age = Math.max(0, (now.getTime() - ms) / 1000);
  const status: FreshnessStatus = f.errorAfter && age > ruleSeconds(f.errorAfter) ? 'error' : f.warnAfter && age > ruleSeconds(f.warnAfter) ? 'warn' : 'pass';
  return { ...base, status, maxLoadedAt: new Date(ms).toISOString(), ageSeconds: Math.round(age * 1000) / 1000 };
}

/** dbt's max_loaded_at of a source without rows: the year 1 (Python's datetime.min). */
const YEAR_ONE_MS = Date.parse('0001-01-01T00:00:00Z');

/** A time as dbt writes it in sources.json (Python's isoformat of an aware UTC datetime). */
function pyIsoUtc(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, (_m, ms: string) => (ms === '000' ? '+00:00' : `.${ms}000+00:00`));
}

/**
 * target/sources.json, in dbt's shape (schema v3): dbt's unique_id (lake's id as `id`), a rule not
 * set as `{count: null, period: null}`, times as dbt writes them, and a source without rows (or
 * files) as dbt records it — max_loaded_at in the year 1 — with lake's `error` saying why.
 */
export function sourcesJson(results: readonly FreshnessResult[], startedAt: Date, version: string): Record<string, unknown> {
  const none = { count: null, period: null };
  return {
    metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/sources/v3.json', lake_version: version, generated_at: new Date().toISOString(), env: {} },
    elapsed_time: (Date.now() - startedAt.getTime()) / 1000,
    results: results.map((r) => {
      const empty = r.maxLoadedAt === null && r.status !== 'runtime error';
      const snapshotted = Date.parse(r.snapshottedAt);
      return {
        unique_id: r.uniqueId, id: r.id, status: r.status,
        max_loaded_at: empty ? '0001-01-01T00:00:00+00:00' : r.maxLoadedAt && pyIsoUtc(r.maxLoadedAt),
        snapshotted_at: pyIsoUtc(r.snapshottedAt),
        max_loaded_at_time_ago_in_s: empty ? (snapshotted - YEAR_ONE_MS) / 1000 : r.ageSeconds,
        criteria: { warn_after: r.criteria.warn_after ?? none, error_after: r.criteria.error_after ?? none, filter: r.criteria.filter },
        adapter_response: {},
        timing: [
          { name: 'compile', started_at: r.executeStartedAt, completed_at: r.executeStartedAt },
          { name: 'execute', started_at: r.executeStartedAt, completed_at: r.executeCompletedAt },
        ],
        // Sources are checked one after the other, on one connection.
        thread_id: 'Thread-1',
        execution_time: (Date.parse(r.executeCompletedAt) - Date.parse(r.executeStartedAt)) / 1000,
        ...(r.message ? { error: r.message } : {}),
      };
    }),
  };
}

/** `3h 12m`, `45s`, `2d 4h`. */
export function ageText(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

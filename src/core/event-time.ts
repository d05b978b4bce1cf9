/**
 * The time ranges of dbt's microbatch models (in UTC, as dbt's MicrobatchBuilder): which batches
 * a build runs, their ids, and how a relation is read filtered to one batch. Pure: the compiler
 * and the template engine filter refs and sources with it, materialize/microbatch.ts plans a
 * batch, the executor runs them.
 */

export type BatchSize = 'hour' | 'day' | 'month' | 'year';

/** One batch: [start, end) in UTC, and dbt's id for it (`20240917` for a day). */
export interface MicrobatchWindow {
  readonly id: string;
  readonly start: Date;
  readonly end: Date;
}

/** The start of the batch `t` falls in. */
export function truncate(t: Date, size: BatchSize): Date {
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth();
  switch (size) {
    case 'hour': return new Date(Date.UTC(y, m, t.getUTCDate(), t.getUTCHours()));
    case 'day': return new Date(Date.UTC(y, m, t.getUTCDate()));
    case 'month': return new Date(Date.UTC(y, m, 1));
    case 'year': return new Date(Date.UTC(y, 0, 1));
  }
}

/** The start of the batch `n` batches after (before, when negative) the one `t` falls in. */
export function offset(t: Date, size: BatchSize, n: number): Date {
  const b = truncate(t, size);
  switch (size) {
    case 'hour': return new Date(b.getTime() + n * 3_600_000);
    case 'day': return new Date(Date.UTC(b.getUTCFullYear(), b.getUTCMonth(), b.getUTCDate() + n));
    case 'month': return new Date(Date.UTC(b.getUTCFullYear(), b.getUTCMonth() + n, 1));
    case 'year': return new Date(Date.UTC(b.getUTCFullYear() + n, 0, 1));
  }
}

/** `t` itself when it starts a batch, else the start of the next batch. */
export function ceiling(t: Date, size: BatchSize): Date {
  const b = truncate(t, size);
  return b.getTime() === t.getTime() ? b : offset(b, size, 1);
}

const p2 = (n: number) => String(n).padStart(2, '0');

/** dbt's batch id: `2024`, `202409`, `20240917`, `20240917T16`. */
export function batchId(start: Date, size: BatchSize): string {
  const y = String(start.getUTCFullYear()).padStart(4, '0');
  const m = p2(start.getUTCMonth() + 1);
  const d = p2(start.getUTCDate());
  return size === 'year' ? y : size === 'month' ? `${y}${m}` : size === 'day' ? `${y}${m}${d}` : `${y}${m}${d}T${p2(start.getUTCHours())}`;
}

export interface BatchPlanInput {
  readonly batchSize: BatchSize;
  /** The model's `begin`. */
  readonly begin: Date;
  /** `lookback` (default 1). */
  readonly lookback: number;
  /** The target exists and this is not a full refresh. */
  readonly incremental: boolean;
  /** --event-time-start / --event-time-end. */
  readonly eventTimeStart?: Date;
  readonly eventTimeEnd?: Date;
  /** The run's start (the default end). */
  readonly now: Date;
}

/**
 * The batches a build runs, oldest first (dbt's MicrobatchBuilder): up to the end (--event-time-end,
 * else now) moved up to a batch boundary; from --event-time-start, else from `begin` on a first
 * build or a full refresh, else from `lookback` batches before the current one. The last batch
 * ends at the end itself.
 */
export function batchesOf(p: BatchPlanInput): MicrobatchWindow[] {
  const end = ceiling(p.eventTimeEnd ?? p.now, p.batchSize);
  let start: Date;
  if (p.eventTimeStart) start = truncate(p.eventTimeStart, p.batchSize);
  else if (!p.incremental) start = truncate(p.begin, p.batchSize);
  // The end is a batch boundary: the current batch is the one before it, and lookback more before that.
  else start = offset(end, p.batchSize, -(p.lookback + 1));
  // A start at or after the end (a begin in the future): one batch that holds nothing, as dbt builds it.
  if (start.getTime() >= end.getTime()) return [{ id: batchId(start, p.batchSize), start, end: start }];
  const out: MicrobatchWindow[] = [];
  for (let s = start; s.getTime() < end.getTime(); s = offset(s, p.batchSize, 1)) {
    const e = offset(s, p.batchSize, 1);
    out.push({ id: batchId(s, p.batchSize), start: s, end: e.getTime() > end.getTime() ? end : e });
  }
  return out;
}

/** A batch bound as dbt prints it in a filter: Python's str() of a UTC datetime. */
export function boundText(t: Date): string {
  const us = t.getUTCMilliseconds();
  return `${String(t.getUTCFullYear()).padStart(4, '0')}-${p2(t.getUTCMonth() + 1)}-${p2(t.getUTCDate())} ${p2(t.getUTCHours())}:${p2(t.getUTCMinutes())}:${p2(t.getUTCSeconds())}${us ? `.${String(us * 1000).padStart(6, '0')}` : ''}+00:00`;
}

/** `column >= 'start' and column < 'end'`: the rows of one batch (dbt's event-time filter). */
export function windowCondition(column: string, w: MicrobatchWindow): string {
  return `${column} >= '${boundText(w.start)}' and ${column} < '${boundText(w.end)}'`;
}

/** A relation read as zero rows with its columns (dbt's --empty). */
export function emptyRelation(relationSql: string): string {
  return `(select * from ${relationSql} where false limit 0)`;
}

/** A relation read filtered to one batch, as dbt renders a ref to a model with event_time. */
export function filteredRelation(relationSql: string, column: string, w: MicrobatchWindow): string {
  return `(select * from ${relationSql} where ${windowCondition(column, w)})`;
}

/**
 * A date or timestamp as dbt reads `begin` and --event-time-start/--event-time-end: ISO text
 * (`2024-01-01`, `2024-01-01 10:00[:00[.fff]]`, `T` or a space, an optional `Z` or `+hh:mm`
 * offset), in UTC unless it says otherwise; or a Date (a Python datetime from the template).
 */
export function parseEventTime(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  const text = String(v ?? '').trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), frac ? Math.floor(Number(frac) * 1000) : 0);
  const date = new Date(ms);
  // 2024-02-30 is not a day (Date.UTC would roll it over to March).
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return undefined;
  if (!zone || /^z$/i.test(zone)) return date;
  const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
  const offset = (Number(z[2]) * 60 + Number(z[3] ?? 0)) * (z[1] === '-' ? -1 : 1);
  return new Date(ms - offset * 60000);
}

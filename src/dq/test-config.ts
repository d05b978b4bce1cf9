/**
 * A data test's configuration (severity, warn_if / error_if, fail_calc, limit, store_failures, where) read
 * from YAML or `config()`, validated with messages for a person, and the rule that turns a
 * number of failures into pass / warn / fail — dbt's rule, so projects move over unchanged.
 */
import type { Severity, TestConfig, TestStatus, Threshold } from './types.js';

const THRESHOLD = /^\s*(>=|<=|!=|<>|==|=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/;

const NUM = '(-?\\d+(?:\\.\\d+)?)';
const BETWEEN = new RegExp(`^\\s*(not\\s+)?between\\s+${NUM}\\s+and\\s+${NUM}\\s*$`, 'i');
const IN_LIST = /^\s*(not\s+)?in\s*\(([^)]*)\)\s*$/i;

/**
 * Parse dbt's warn_if / error_if: `>10`, `!= 0`, `>=5`, and the SQL dbt appends them to allows
 * too: `between 1 and 8`, `in (6, 7)`, with `not`.
 */
export function parseThreshold(raw: unknown): Threshold | undefined {
  const text = String(raw);
  const b = BETWEEN.exec(text);
  if (b) return { op: 'between', value: Number(b[2]), to: Number(b[3]), negate: !!b[1], text: text.trim() };
  const l = IN_LIST.exec(text);
  if (l) {
    const values = l[2]!.split(',').map((x) => x.trim()).filter(Boolean);
    if (values.length && values.every((x) => /^-?\d+(?:\.\d+)?$/.test(x))) return { op: 'in', value: Number(values[0]), values: values.map(Number), negate: !!l[1], text: text.trim() };
  }
  const m = THRESHOLD.exec(text);
  if (!m) return undefined;
  const op = m[1] === '<>' ? '!=' : m[1] === '==' ? '=' : (m[1] as Threshold['op']);
  return { op, value: Number(m[2]), text: text.trim() };
}

export function meets(n: number, t: Threshold): boolean {
  switch (t.op) {
    case '>': return n > t.value;
    case '>=': return n >= t.value;
    case '<': return n < t.value;
    case '<=': return n <= t.value;
    case '=': return n === t.value;
    case '!=': return n !== t.value;
    case 'between': return (n >= t.value && n <= (t.to ?? t.value)) !== !!t.negate;
    case 'in': return (t.values ?? []).includes(n) !== !!t.negate;
  }
}

/** dbt: with severity error, error_if decides a failure, else warn_if a warning; severity warn only warns. */
export function statusFor(failures: number, c: TestConfig): Exclude<TestStatus, 'error' | 'skipped'> {
  if (c.severity === 'error' && meets(failures, c.errorIf)) return 'fail';
  if (meets(failures, c.warnIf)) return 'warn';
  return 'pass';
}

/** dbt's default warn_if / error_if, written as dbt writes it in its messages. */
const DEFAULT_THRESHOLD: Threshold = { op: '!=', value: 0, text: '!= 0' };

/**
 * Read a test's config. `problems` gets one message + hint per bad value; defaults stand in for
 * them so the rest of the test can still be checked.
 */
export function readTestConfig(raw: Readonly<Record<string, unknown>>, problems: { message: string; hint: string }[]): TestConfig & { enabled: boolean; name?: string } {
  let severity: Severity = 'error';
  if (raw.severity !== undefined) {
    const s = String(raw.severity).toLowerCase();
    if (s === 'error' || s === 'warn') severity = s;
    else problems.push({ message: `severity '${String(raw.severity)}' is not error or warn`, hint: 'write severity: warn (report only) or severity: error (fail the run)' });
  }
  const threshold = (key: 'warn_if' | 'error_if'): Threshold => {
    if (raw[key] === undefined) return DEFAULT_THRESHOLD;
    const t = parseThreshold(raw[key]);
    if (!t) problems.push({ message: `${key} '${String(raw[key])}' is not a comparison`, hint: `write ${key}: '>10' (one of > >= < <= = != and a number), 'between 1 and 10' or 'in (1, 2)'` });
    return t ?? DEFAULT_THRESHOLD;
  };
  let limit: number | undefined;
  if (raw.limit !== undefined && raw.limit !== null) {
    const n = Number(raw.limit);
    if (!Number.isInteger(n) || n < 0) problems.push({ message: `limit '${String(raw.limit)}' is not a whole number`, hint: 'write limit: 100' });
    else limit = n;
  }
  const where = raw.where === undefined || raw.where === null ? undefined : String(raw.where);
  const tags = Array.isArray(raw.tags) ? raw.tags.map(String) : raw.tags !== undefined ? [String(raw.tags)] : [];
  let storeAs: 'table' | 'view' | 'ephemeral' | undefined;
  if (raw.store_failures_as !== undefined && raw.store_failures_as !== null) {
    const v = String(raw.store_failures_as).toLowerCase();
    if (v === 'table' || v === 'view' || v === 'ephemeral') storeAs = v;
    else problems.push({ message: `store_failures_as '${String(raw.store_failures_as)}' is not table, view or ephemeral`, hint: 'write store_failures_as: table (or view; ephemeral stores nothing)' });
  }
  // store_failures_as wins over store_failures (as in dbt): table or view stores, ephemeral does not.
  const storeFailures = storeAs ? storeAs !== 'ephemeral' : raw.store_failures === true || raw.store_failures === 'true';
  // Set either way, it wins over the --store-failures flag (dbt); unset, the flag decides.
  const storeSet = storeAs !== undefined || (raw.store_failures !== undefined && raw.store_failures !== null);
  const failCalc = raw.fail_calc === undefined || raw.fail_calc === null || /^\s*count\(\s*\*\s*\)\s*$/i.test(String(raw.fail_calc)) ? undefined : String(raw.fail_calc);
  return {
    severity, warnIf: threshold('warn_if'), errorIf: threshold('error_if'), limit, storeFailures, ...(storeSet ? { storeFailuresSet: true } : {}), storeAs, where, tags, ...(failCalc ? { failCalc } : {}),
    ...(typeof raw.schema === 'string' && raw.schema ? { schema: raw.schema } : {}), ...(typeof raw.alias === 'string' && raw.alias ? { alias: raw.alias } : {}),
    enabled: raw.enabled !== false && raw.enabled !== 'false',
    name: typeof raw.name === 'string' && raw.name ? raw.name : undefined,
  };
}

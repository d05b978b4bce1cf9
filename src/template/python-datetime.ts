/**
 * dbt's `modules.datetime` as templates use it: `date(y, m, d)`, `datetime(y, m, d, H, M, S)`,
 * `timedelta(days=, hours=, ...)`, `datetime.strptime(text, fmt)`, `fromisoformat`, `now()`,
 * `utcnow()`, `date.today()`; values with `strftime`, `isoformat`, `date()`, `replace()`,
 * `weekday()`, `timestamp()`, `year`/`month`/`day`...; `+` and `-` with a timedelta, and the
 * difference of two values as a timedelta (`python-repr`'s add and sub call `datetimeAdd` /
 * `datetimeSub`). Times are UTC, as in every session lake opens.
 *
 * A date or datetime is a String object (it prints, compares and concatenates as Python's str()
 * of it: `2024-01-02`, `2024-01-02 03:04:05`) carrying its instant.
 */
import { splitKwargs } from './call-args.js';

const INSTANT = Symbol('instant');
const DATE_ONLY = Symbol('dateOnly');
const DELTA = Symbol('delta');
/** An aware datetime (UTC) and how it prints: see pyDate. */
const AWARE = Symbol('aware');

type PyDate = string & { [INSTANT]: Date; [DATE_ONLY]: boolean };
type PyDelta = { [DELTA]: number };

const p2 = (n: number) => String(n).padStart(2, '0');

function text(d: Date, dateOnly: boolean): string {
  const day = `${String(d.getUTCFullYear()).padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
  if (dateOnly) return day;
  const us = d.getUTCMilliseconds() * 1000;
  return `${day} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}${us ? `.${String(us).padStart(6, '0')}` : ''}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * A date (`dateOnly`) or datetime at the UTC instant `d`. `aware`: a datetime with its time zone
 * (UTC), as dbt's run_started_at: it prints with milliseconds and its isoformat() ends `+00:00`.
 */
export function pyDate(d: Date, dateOnly = false, aware = false, pythonText = false): string {
  const instant = dateOnly ? new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())) : d;
  const codes: Record<string, () => string> = {
    Y: () => String(instant.getUTCFullYear()), y: () => p2(instant.getUTCFullYear() % 100), m: () => p2(instant.getUTCMonth() + 1), d: () => p2(instant.getUTCDate()),
    H: () => p2(instant.getUTCHours()), M: () => p2(instant.getUTCMinutes()), S: () => p2(instant.getUTCSeconds()), f: () => String(instant.getUTCMilliseconds() * 1000).padStart(6, '0'),
    j: () => String(Math.floor((instant.getTime() - Date.UTC(instant.getUTCFullYear(), 0, 1)) / 86400000) + 1).padStart(3, '0'),
    b: () => MONTHS[instant.getUTCMonth()]!, a: () => DAYS[instant.getUTCDay()]!, w: () => String(instant.getUTCDay()), '%': () => '%',
  };
  // `pythonText`: an aware datetime printed as Python's str() prints it (a query's TIMESTAMPTZ value).
  const shown = aware ? (pythonText ? `${text(instant, false)}+00:00` : instant.toISOString().replace('T', ' ').replace('Z', '')) : text(instant, dateOnly);
  const obj = Object.assign(new String(shown), {
    [INSTANT]: instant, [DATE_ONLY]: dateOnly, [AWARE]: aware ? (pythonText ? 'python' : 'short') : undefined,
    strftime: (fmt: unknown) => String(fmt).replace(/%(.)/g, (m, c: string) => codes[c]?.() ?? m),
    isoformat: () => (dateOnly ? text(instant, true) : aware ? `${text(instant, false).replace(' ', 'T')}+00:00` : text(instant, false).replace(' ', 'T')),
    timestamp: () => instant.getTime() / 1000,
    date: () => pyDate(instant, true),
    weekday: () => (instant.getUTCDay() + 6) % 7, isoweekday: () => instant.getUTCDay() || 7,
    replace: (...args: unknown[]) => {
      const { kw } = splitKwargs(args);
      const n = (k: string, v: number) => (kw[k] === undefined ? v : Number(kw[k]));
      return pyDate(new Date(Date.UTC(n('year', instant.getUTCFullYear()), n('month', instant.getUTCMonth() + 1) - 1, n('day', instant.getUTCDate()),
        n('hour', instant.getUTCHours()), n('minute', instant.getUTCMinutes()), n('second', instant.getUTCSeconds()), Math.floor(n('microsecond', instant.getUTCMilliseconds() * 1000) / 1000))), dateOnly, aware, pythonText);
    },
    year: instant.getUTCFullYear(), month: instant.getUTCMonth() + 1, day: instant.getUTCDate(),
    // An aware datetime's zone (dbt's run_started_at is in pytz's UTC); a naive one has none.
    tzinfo: aware ? 'UTC' : null,
    ...(dateOnly ? {} : { hour: instant.getUTCHours(), minute: instant.getUTCMinutes(), second: instant.getUTCSeconds(), microsecond: instant.getUTCMilliseconds() * 1000 }),
  });
  return obj as unknown as string;
}

function isDate(v: unknown): v is PyDate {
  return v instanceof String && INSTANT in v;
}

function isDelta(v: unknown): v is PyDelta {
  return !!v && typeof v === 'object' && DELTA in v;
}

/** A timedelta of `ms` milliseconds: prints as Python's (`1 day, 2:00:00`), with days, seconds, total_seconds(). */
export function pyDelta(ms: number): PyDelta {
  const days = Math.floor(ms / 86400000);
  const rest = ms - days * 86400000;
  const seconds = Math.floor(rest / 1000);
  const hms = `${Math.floor(seconds / 3600)}:${p2(Math.floor((seconds % 3600) / 60))}:${p2(seconds % 60)}${rest % 1000 ? `.${String((rest % 1000) * 1000).padStart(6, '0')}` : ''}`;
  const shown = days ? `${days} day${Math.abs(days) === 1 ? '' : 's'}, ${hms}` : hms;
  return { [DELTA]: ms, days, seconds, microseconds: (rest % 1000) * 1000, total_seconds: () => ms / 1000, toString: () => shown } as PyDelta;
}

function timedelta(...args: unknown[]): PyDelta {
  const { pos, kw } = splitKwargs(args);
  const names = ['days', 'seconds', 'microseconds', 'milliseconds', 'minutes', 'hours', 'weeks'];
  const v = (name: string) => Number(kw[name] ?? pos[names.indexOf(name)] ?? 0);
  return pyDelta(v('days') * 86400000 + v('seconds') * 1000 + v('microseconds') / 1000 + v('milliseconds') + v('minutes') * 60000 + v('hours') * 3600000 + v('weeks') * 604800000);
}

/** Python's strptime for the usual codes (%Y %m %d %H %M %S %f %y %j %b %%); a text that does not match is an error. */
function strptime(s: unknown, fmt: unknown): string {
  const parts: Record<string, number> = {};
  const order: string[] = [];
  const re = String(fmt).replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%(.)/g, (m, c: string) => {
    const pattern: Record<string, string> = { Y: '(\\d{4})', m: '(\\d{1,2})', d: '(\\d{1,2})', H: '(\\d{1,2})', M: '(\\d{1,2})', S: '(\\d{1,2})', f: '(\\d{1,6})', y: '(\\d{2})', j: '(\\d{1,3})', b: '([A-Za-z]{3})' };
    if (c === '%') return '%';
    if (!pattern[c]) throw new Error(`strptime: the format code %${c} is not supported`);
    order.push(c);
    return pattern[c]!;
  });
  const m = new RegExp(`^${re}$`).exec(String(s));
  if (!m) throw new Error(`time data '${String(s)}' does not match format '${String(fmt)}'`);
  order.forEach((c, i) => {
    const g = m[i + 1]!;
    parts[c] = c === 'b' ? MONTHS.findIndex((x) => x.toLowerCase() === g.toLowerCase()) + 1 : c === 'f' ? Number(g.padEnd(6, '0')) : Number(g);
  });
  const year = parts.Y ?? (parts.y !== undefined ? 2000 + parts.y - (parts.y >= 69 ? 100 : 0) : 1900);
  const base = Date.UTC(year, (parts.m ?? 1) - 1, parts.d ?? 1, parts.H ?? 0, parts.M ?? 0, parts.S ?? 0, Math.floor((parts.f ?? 0) / 1000));
  return pyDate(new Date(parts.j !== undefined ? Date.UTC(year, 0, 1) + (parts.j - 1) * 86400000 + (base - Date.UTC(year, 0, 1)) : base));
}

function fromIso(s: unknown, dateOnly: boolean): string {
  const t = String(s).trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$/.exec(t);
  if (!m) throw new Error(`Invalid isoformat string: '${t}'`);
  return pyDate(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), Math.floor(Number((m[7] ?? '0').padEnd(6, '0')) / 1000))), dateOnly);
}

const num = (v: unknown, d = 0) => (v === undefined || v === null ? d : Number(v));

/** `modules.datetime`; `now` gives the current instant (the caller marks the render as time-dependent). */
export function pythonDatetimeModule(now: () => Date): Record<string, unknown> {
  const datetime = Object.assign((...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const [y, mo, d, h, mi, s, us] = ['year', 'month', 'day', 'hour', 'minute', 'second', 'microsecond'].map((k, i) => kw[k] ?? pos[i]);
    return pyDate(new Date(Date.UTC(num(y), num(mo, 1) - 1, num(d, 1), num(h), num(mi), num(s), Math.floor(num(us) / 1000))));
  }, {
    __lakeNamespace: true,
    now: () => pyDate(now()), utcnow: () => pyDate(now()), today: () => pyDate(now()),
    strptime, fromisoformat: (s: unknown) => fromIso(s, false),
  });
  const date = Object.assign((...args: unknown[]) => {
    const { pos, kw } = splitKwargs(args);
    const [y, mo, d] = ['year', 'month', 'day'].map((k, i) => kw[k] ?? pos[i]);
    return pyDate(new Date(Date.UTC(num(y), num(mo, 1) - 1, num(d, 1))), true);
  }, { __lakeNamespace: true, today: () => pyDate(now(), true), fromisoformat: (s: unknown) => fromIso(s, true) });
  return { datetime, date, timedelta };
}

/** Python's `+` when a side is a date or timedelta (undefined when neither is). */
export function datetimeAdd(a: unknown, b: unknown): unknown {
  if (isDate(a) && isDelta(b)) return shifted(a, b[DELTA]);
  if (isDelta(a) && isDate(b)) return shifted(b, a[DELTA]);
  if (isDelta(a) && isDelta(b)) return pyDelta(a[DELTA] + b[DELTA]);
  return undefined;
}

/** A date or datetime moved by `ms`, aware as it was. */
function shifted(d: PyDate, ms: number): unknown {
  const aware = (d as unknown as Record<symbol, unknown>)[AWARE];
  return pyDate(new Date(d[INSTANT].getTime() + ms), d[DATE_ONLY], aware !== undefined, aware === 'python');
}

/** Python's `-` when a side is a date or timedelta (undefined when neither is). */
export function datetimeSub(a: unknown, b: unknown): unknown {
  if (isDate(a) && isDelta(b)) return shifted(a, -b[DELTA]);
  if (isDate(a) && isDate(b)) return pyDelta(a[INSTANT].getTime() - b[INSTANT].getTime());
  if (isDelta(a) && isDelta(b)) return pyDelta(a[DELTA] - b[DELTA]);
  return undefined;
}

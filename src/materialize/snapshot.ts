/**
 * dbt snapshots: a type 2 history of a query's rows, as dbt keeps it. Every row of the table has
 * `dbt_scd_id`, `dbt_updated_at`, `dbt_valid_from` and `dbt_valid_to` (NULL, or
 * `dbt_valid_to_current`, while it is the current version of its key); `hard_deletes: new_record`
 * adds `dbt_is_deleted`. The names can be changed with `snapshot_meta_column_names`.
 *
 * The first build creates the table from the query. Later builds compare the query's rows with the
 * current versions, by `unique_key` (column names or expressions): a key whose row changed (strategy
 * `timestamp`: its `updated_at` is later than the current version's `dbt_valid_from`; `check`: one
 * of `check_cols` differs, NULLs compared as values, or a checked column is new to the table) gets
 * its current version closed and a new one;
 * a new key gets its first version; with `hard_deletes: invalidate` (or dbt's older
 * `invalidate_hard_deletes: true`) a key the query no longer returns has its current version closed
 * at the snapshot's time, and with `new_record` also a version marked deleted. New columns of the
 * query are added to the table; columns it dropped stay (NULL in later versions). `--full-refresh`
 * never rebuilds a snapshot: its history exists nowhere else, and a view of its name is an error.
 * Times are UTC, as every session lake opens is (dbt-duckdb's are the machine's zone).
 *
 * The query's rows are staged once (a temp table) and must carry each key once and no NULL key: a
 * repeated key would give the key two current versions forever. Everything runs in the executor's
 * one transaction, so a failed or killed build leaves the table as it was.
 */
import type { CompiledNode } from '../core/types.js';
import type { Materialization, PlanContext, Statement } from './types.js';
import { PlanError } from './types.js';
import { createSchema, exec, hasColumn, schemaDiff, stageName } from './common.js';

/** dbt's names of the columns a snapshot keeps, changeable with snapshot_meta_column_names. */
const META = ['dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'dbt_is_deleted'] as const;
type MetaKey = (typeof META)[number];

interface SnapshotSpec {
  readonly strategy: 'timestamp' | 'check';
  /** SQL expressions over the query's columns (plain column names in most projects). */
  readonly keys: readonly string[];
  readonly updatedAt?: string;
  /** 'all', or the columns whose change makes a new version (strategy check). */
  readonly checkCols?: 'all' | readonly string[];
  readonly hardDeletes: 'ignore' | 'invalidate' | 'new_record';
  readonly meta: Readonly<Record<MetaKey, string>>;
  /** SQL for dbt_valid_to of current versions (dbt_valid_to_current), or undefined for NULL. */
  readonly validToCurrent?: string;
}

/** The snapshot's settings from its config (configProblems has checked them). */
function snapshotSpec(node: CompiledNode): SnapshotSpec {
  const c = node.config;
  const names = (c.snapshot_meta_column_names && typeof c.snapshot_meta_column_names === 'object' ? c.snapshot_meta_column_names : {}) as Record<string, unknown>;
  const meta = Object.fromEntries(META.map((k) => [k, typeof names[k] === 'string' && names[k] ? String(names[k]) : k])) as Record<MetaKey, string>;
  const hard = c.hard_deletes !== undefined ? String(c.hard_deletes) : c.invalidate_hard_deletes === true || c.invalidate_hard_deletes === 'true' ? 'invalidate' : 'ignore';
  // A single column written as a string is taken as a list of one.
  const checkCols = c.check_cols === 'all' ? 'all' : Array.isArray(c.check_cols) ? (c.check_cols as unknown[]).map(String) : typeof c.check_cols === 'string' && c.check_cols ? [c.check_cols] : undefined;
  return {
    strategy: c.strategy === 'check' ? 'check' : 'timestamp',
    keys: c.unique_key ?? [],
    updatedAt: typeof c.updated_at === 'string' && c.updated_at ? c.updated_at : undefined,
    checkCols,
    hardDeletes: hard === 'invalidate' || hard === 'new_record' ? hard : 'ignore',
    meta,
    validToCurrent: typeof c.dbt_valid_to_current === 'string' && c.dbt_valid_to_current.trim() ? c.dbt_valid_to_current : undefined,
  };
}

/**
 * A query with the columns of the snapshot's table (its query's and the meta columns, typed as a
 * snapshot types them), no rows wanted: for what reads a snapshot without its table (unit tests).
 */
export function snapshotShapeSql(node: CompiledNode): string {
  const spec = snapshotSpec(node);
  const m = spec.meta;
  const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
  const upd = spec.updatedAt ? `(${spec.updatedAt})` : 'now()::timestamp';
  const to = spec.validToCurrent ? `coalesce(nullif(${upd}, ${upd}), (${spec.validToCurrent}))` : `nullif(${upd}, ${upd})`;
  return `select *, md5('') as ${q(m.dbt_scd_id)}, ${upd} as ${q(m.dbt_updated_at)}, ${upd} as ${q(m.dbt_valid_from)}, ${to} as ${q(m.dbt_valid_to)}${spec.hardDeletes === 'new_record' ? `, 'False' as ${q(m.dbt_is_deleted)}` : ''}
from (
${node.sql}
) as __lake_snapshot_src`;
}

/** A TIMESTAMP literal for the snapshot's time (UTC, microseconds as JavaScript has them: milliseconds). */
function timestampLiteral(at: Date): string {
  return `TIMESTAMP '${at.toISOString().replace('T', ' ').replace('Z', '')}'`;
}

export const snapshotStrategy: Materialization = {
  name: 'snapshot',
  validate: () => [],
  plan(node: CompiledNode, ctx: PlanContext): Statement[] {
    const d = ctx.dialect;
    const spec = snapshotSpec(node);
    const rel = d.relation(ctx.relation);
    const q = (s: string) => d.quote(s);
    const m = spec.meta;
    const ts = timestampLiteral(ctx.snapshotAt ?? new Date());
    const stage = q(stageName(ctx.relation));
    const keyCols = spec.keys.map((_, i) => `__lake_key_${i + 1}`);
    const helpers = [...keyCols, '__lake_upd'].map(q).join(', ');
    // A misspelt check column would fail only at the second snapshot (nothing is compared at the first).
    const unknown = spec.strategy === 'check' && Array.isArray(spec.checkCols) ? spec.checkCols.find((c) => !hasColumn(ctx.incoming, c)) : undefined;
    if (unknown) {
      throw new PlanError({
        code: 'LAKE-X063', severity: 'error', node: node.id, file: node.node.path,
        message: `${node.id}: check_cols names ${unknown}, which the snapshot's query does not return`,
        hint: `list columns of its query in check_cols (${ctx.incoming.map((c) => c.name).join(', ')}), or use check_cols='all'`,
      });
    }
    const metaNames = META.filter((k) => k !== 'dbt_is_deleted' || spec.hardDeletes === 'new_record').map((k) => m[k]);
    const clash = ctx.incoming.find((c) => metaNames.some((n) => n.toLowerCase() === c.name.toLowerCase()) || /^__lake_(key_\d+|upd)$/i.test(c.name));
    if (clash) {
      throw new PlanError({
        code: 'LAKE-X060', severity: 'error', node: node.id, file: node.node.path,
        message: `${node.id}: the snapshot's query returns a column named ${clash.name}, which the snapshot keeps itself`,
        hint: `rename it in the query, or give the snapshot's own column another name with snapshot_meta_column_names: {${META.find((k) => m[k].toLowerCase() === clash.name.toLowerCase()) ?? 'dbt_valid_from'}: another_name}`,
      });
    }
    const keyOf = () => spec.keys.map((k, i) => `(${k}) as ${q(keyCols[i]!)}`).join(', ');
    const keysMatch = (a: string, b: string) => keyCols.map((k) => `${a}.${q(k)} = ${b}.${q(k)}`).join(' and ');
    const upd = spec.strategy === 'timestamp' || spec.updatedAt ? `(${spec.updatedAt})` : ts;
    // Current versions (`a`: a table alias, or '' for the UPDATE's own table).
    const isCurrent = (a: string) => {
      const col = `${a ? `${a}.` : ''}${q(m.dbt_valid_to)}`;
      return spec.validToCurrent ? `(${col} is null or ${col} = (${spec.validToCurrent}))` : `${col} is null`;
    };
    const scdId = (keys: readonly string[], time: string) => `md5(${[...keys, time].map((x) => `coalesce(cast(${x} as varchar), '')`).join(` || '|' || `)})`;
    const deletedFlag = spec.hardDeletes === 'new_record' ? `, 'False' as ${q(m.dbt_is_deleted)}` : '';
    const statements: Statement[] = [
      createSchema(d, ctx.relation),
      exec(`create or replace temp table ${stage} as\nselect *, ${keyOf()}, ${upd} as "__lake_upd" from (\n${node.sql}\n) as __lake_snapshot_src`, 'stage the query'),
      {
        kind: 'assert-empty', label: 'check null keys',
        sql: `select * exclude (${helpers}) from ${stage} where ${keyCols.map((k) => `${q(k)} is null`).join(' or ')} limit 1`,
        message: `${node.id}: a row of the snapshot's query has a NULL unique_key (${spec.keys.join(', ')})`,
        hint: `a snapshot keeps the history of each key: filter those rows out in ${node.node.path} (where ${spec.keys[0]} is not null), or choose a unique_key that is never NULL`,
      },
      {
        kind: 'assert-empty', label: 'check duplicate keys',
        sql: `select ${keyCols.map((k, i) => `${q(k)} as ${q(spec.keys[i]!)}`).join(', ')}, count(*) as copies from ${stage} group by all having count(*) > 1 limit 1`,
        message: `${node.id}: the snapshot's query returns the same unique_key (${spec.keys.join(', ')}) more than once`,
        hint: `keep one row per key in ${node.node.path}, e.g. qualify row_number() over (partition by ${spec.keys.join(', ')} order by ${spec.updatedAt ?? '<newest first>'} desc) = 1`,
      },
    ];
    // dbt_valid_to has the type of the versions' times, whatever dbt_valid_to_current is written as ('9999-12-31' is not a VARCHAR column).
    const currentTo = (time: string) => (spec.validToCurrent ? `coalesce(nullif(${time}, ${time}), (${spec.validToCurrent}))` : `nullif(${time}, ${time})`);
    const newVersion = (from: string) => `select * exclude (${helpers}), ${scdId(keyCols.map(q), '"__lake_upd"')} as ${q(m.dbt_scd_id)}, "__lake_upd" as ${q(m.dbt_updated_at)}, "__lake_upd" as ${q(m.dbt_valid_from)}, ${currentTo('"__lake_upd"')} as ${q(m.dbt_valid_to)}${deletedFlag} from ${from}`;
    if (ctx.existing?.kind === 'view') {
      // As dbt: a snapshot never replaces a relation it did not make.
      throw new PlanError({
        code: 'LAKE-X062', severity: 'error', node: node.id, file: node.node.path,
        message: `${node.id}: ${ctx.relation.schema}.${ctx.relation.name} exists as a view, and a snapshot is a table`,
        hint: `drop the view (drop view ${rel}), or give the snapshot another name or target_schema`,
      });
    }
    if (!ctx.existing) {
      statements.push(exec(`create table ${rel} as\n${newVersion(stage)}`, 'first snapshot'));
      statements.push({ kind: 'count', sql: `select count(*) as n from ${rel}`, label: 'count' });
      statements.push(exec(`drop table if exists ${stage}`, 'drop stage'));
      return statements;
    }
    const existing = ctx.existing.columns;
    const missing = metaNames.filter((n) => !hasColumn(existing, n));
    if (missing.length) {
      throw new PlanError({
        code: 'LAKE-X061', severity: 'error', node: node.id, file: node.node.path,
        message: `${node.id}: the table ${ctx.relation.schema}.${ctx.relation.name} exists but is not this snapshot's (it has no ${missing.join(', ')})`,
        hint: missing.length === 1 && missing[0] === m.dbt_is_deleted
          ? `hard_deletes: new_record keeps ${m.dbt_is_deleted}: add it to the table (alter table ... add column ${m.dbt_is_deleted} varchar default 'False'), or use hard_deletes: invalidate`
          : 'drop it or give the snapshot another name: a snapshot never rebuilds a table (its history exists nowhere else)',
      });
    }
    const source = ctx.incoming;
    // The query's new columns join the history (NULL in the versions before); dropped ones stay.
    for (const c of schemaDiff(existing, source).added) statements.push(exec(`alter table ${rel} add column ${q(c.name)} ${c.type}`, `add column ${c.name}`));
    const validToType = existing.find((c) => c.name.toLowerCase() === m.dbt_valid_to.toLowerCase())?.type;
    const closeAt = validToType ? `cast(${ts} as ${validToType})` : ts;
    const current = `(select *, ${keyOf()} from ${rel} as __lake_t where ${isCurrent('__lake_t')})`;
    const deleted = spec.hardDeletes === 'new_record' ? `t.${q(m.dbt_is_deleted)} = 'True'` : undefined;
    if (spec.hardDeletes !== 'ignore') {
      const gone = q(`${stageName(ctx.relation)}__gone`);
      statements.push(
        exec(`create or replace temp table ${gone} as\nselect t.* exclude (${keyCols.map(q).join(', ')}) from ${current} as t anti join ${stage} as s on ${keysMatch('t', 's')}${spec.hardDeletes === 'new_record' ? `\nwhere t.${q(m.dbt_is_deleted)} is distinct from 'True'` : ''}`, 'keys the query no longer returns'),
        exec(`update ${rel} set ${q(m.dbt_valid_to)} = ${closeAt} where ${q(m.dbt_scd_id)} in (select ${q(m.dbt_scd_id)} from ${gone}) and ${isCurrent('')}`, 'close deleted keys', true),
      );
      if (spec.hardDeletes === 'new_record') {
        statements.push(exec(
          `insert into ${rel} by name\nselect * replace (${scdId([q(m.dbt_scd_id)], ts)} as ${q(m.dbt_scd_id)}, ${ts} as ${q(m.dbt_updated_at)}, ${ts} as ${q(m.dbt_valid_from)}, ${currentTo(ts)} as ${q(m.dbt_valid_to)}, 'True' as ${q(m.dbt_is_deleted)}) from ${gone}`,
          'record deletions', true,
        ));
      }
      statements.push(exec(`drop table if exists ${gone}`, 'drop deleted keys'));
    }
    const checked = spec.strategy === 'timestamp' ? undefined : spec.checkCols === 'all' || !spec.checkCols ? source.map((c) => c.name) : spec.checkCols;
    // As dbt: a checked column the table did not have yet is a change of every current version.
    const added = checked?.some((c) => !hasColumn(existing, c));
    const changed = !checked ? `t.${q(m.dbt_valid_from)} < s."__lake_upd"`
      : added ? 'true'
        : checked.map((c) => `t.${q(c)} is distinct from s.${q(c)}`).join(' or ');
    statements.push(exec(
      `update ${rel} set ${q(m.dbt_valid_to)} = c.__lake_close from (\n`
        + `select t.${q(m.dbt_scd_id)} as __lake_scd, s."__lake_upd" as __lake_close\n`
        + `from ${current} as t join ${stage} as s on ${keysMatch('t', 's')}\nwhere ${changed}${deleted ? ` or ${deleted}` : ''}\n) as c\n`
        // Unqualified names are the table's: the subquery's columns are __lake_scd and __lake_close.
        + `where ${q(m.dbt_scd_id)} = c.__lake_scd and ${isCurrent('')}`,
      'close changed versions', true,
    ));
    statements.push(exec(`insert into ${rel} by name\n${newVersion(`${stage} as s anti join ${current} as t on ${keysMatch('t', 's')}`)}`, 'new versions', true));
    statements.push(exec(`drop table if exists ${stage}`, 'drop stage'));
    return statements;
  },
};

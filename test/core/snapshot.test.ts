/**
 * dbt snapshots: `{% snapshot %}` blocks and YAML-defined snapshots, taken by `lake snapshot` with
 * dbt's timestamp and check strategies and hard_deletes, through the real CLI on real DuckDB files.
 * Seeds stand in for the changing source: `lake seed` reloads them between snapshots.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { lake, query, writeProject } from './helpers.js';
import { loadProject } from '../../src/project/load.js';

const PROJECT = 'name: snap\ntargets:\n  dev: { type: duckdb, path: target/snap.duckdb, threads: 2 }\n';

function csv(rows: string[]): string {
  return `id,status,amount,updated_at\n${rows.join('\n')}\n`;
}

const SNAPSHOTS = `{% snapshot orders_ts %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}
select * from {{ ref('raw_orders') }}
{% endsnapshot %}

{% snapshot orders_check %}
{{ config(target_schema='history', unique_key='id', strategy='check', check_cols=['status'], hard_deletes='new_record') }}
select id, status, amount from {{ ref('raw_orders') }}
{% endsnapshot %}
`;

type Version = { id: number; status: string; from: string; to: string | null; deleted?: string };

async function versions(dir: string, table: string, deleted = false): Promise<Version[]> {
  return query<Version>(path.join(dir, 'target/snap.duckdb'), `select id::integer as id, status, dbt_valid_from::varchar as "from", dbt_valid_to::varchar as "to"${deleted ? ', dbt_is_deleted as deleted' : ''} from ${table} order by id, dbt_valid_from, dbt_valid_to nulls last`);
}

function ok(dir: string, args: string[]): string {
  const r = lake(dir, args);
  expect(r.stderr + r.stdout).not.toMatch(/ERROR|error:/);
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('dbt snapshots', () => {
  it('lake run takes the first snapshot, lake snapshot records changes (timestamp and check, new_record deletes), and a key that returns', async () => {
    const dir = writeProject({
      'project.yml': PROJECT,
      'seeds/raw_orders.csv': csv(['1,placed,10,2024-01-01 00:00:00', '2,placed,20,2024-01-01 00:00:00', '3,shipped,30,2024-01-01 00:00:00']),
      'snapshots/orders.sql': SNAPSHOTS,
      'models/gold/current_orders.sql': "select id, status from {{ ref('orders_ts') }} where dbt_valid_to is null\n",
    });
    const ls = lake(dir, ['ls', '--output', 'json']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; resource_type: string });
    expect(ls.filter((n) => n.resource_type === 'snapshot').map((n) => n.id).sort()).toEqual(['history.orders_check', 'snapshots.orders_ts']);
    // lake run builds what the models need: the seed and the snapshots that do not exist yet.
    expect(ok(dir, ['run'])).toMatch(/snapshots\.orders_ts\s+snapshot\s+3 rows/);
    expect(await query(path.join(dir, 'target/snap.duckdb'), 'select count(*)::integer as n from gold.current_orders')).toEqual([{ n: 3 }]);
    // ...and not again: a snapshot is taken by lake snapshot (or lake build).
    expect(ok(dir, ['run'])).not.toContain('orders_ts');

    // 1 changes (a later updated_at), 2 changes amount only (same updated_at; not a check column), 3 is deleted, 4 is new.
    fs.writeFileSync(path.join(dir, 'seeds/raw_orders.csv'), csv(['1,shipped,10,2024-01-02 00:00:00', '2,placed,25,2024-01-01 00:00:00', '4,placed,40,2024-01-02 00:00:00']));
    ok(dir, ['seed']);
    const out = ok(dir, ['snapshot']);
    // timestamp: close 1, new 1 and 4 (3 rows); check with new_record: close 1 and 3, a deletion record for 3, new 1 and 4 (5 rows).
    expect(out).toMatch(/snapshots\.orders_ts\s+snapshot\s+3 rows/);
    expect(out).toMatch(/history\.orders_check\s+snapshot\s+5 rows/);
    expect(await versions(dir, 'snapshots.orders_ts')).toEqual([
      { id: 1, status: 'placed', from: '2024-01-01 00:00:00', to: '2024-01-02 00:00:00' },
      { id: 1, status: 'shipped', from: '2024-01-02 00:00:00', to: null },
      { id: 2, status: 'placed', from: '2024-01-01 00:00:00', to: null },
      // hard_deletes defaults to ignore: the deleted key stays current.
      { id: 3, status: 'shipped', from: '2024-01-01 00:00:00', to: null },
      { id: 4, status: 'placed', from: '2024-01-02 00:00:00', to: null },
    ]);
    const check = await versions(dir, 'history.orders_check', true);
    expect(check.map((v) => [v.id, v.status, v.to === null ? 'current' : 'closed', v.deleted])).toEqual([
      [1, 'placed', 'closed', 'False'], [1, 'shipped', 'current', 'False'],
      [2, 'placed', 'current', 'False'],
      [3, 'shipped', 'closed', 'False'], [3, 'shipped', 'current', 'True'],
      [4, 'placed', 'current', 'False'],
    ]);
    // The check strategy's versions start at the snapshot's time; a version ends where the next starts.
    expect(check[0]!.to).toBe(check[1]!.from);
    expect(check[3]!.to).toBe(check[4]!.from);

    // Nothing changed: nothing written.
    expect(ok(dir, ['snapshot'])).toMatch(/history\.orders_check\s+snapshot\s+0 rows/);

    // 3 comes back: its deletion record is closed and a new version starts.
    fs.appendFileSync(path.join(dir, 'seeds/raw_orders.csv'), '3,returned,30,2024-01-03 00:00:00\n');
    ok(dir, ['seed']);
    ok(dir, ['snapshot', '-s', 'orders_check']);
    const three = (await versions(dir, 'history.orders_check', true)).filter((v) => v.id === 3);
    expect(three.map((v) => [v.status, v.to === null ? 'current' : 'closed', v.deleted])).toEqual([['shipped', 'closed', 'False'], ['shipped', 'closed', 'True'], ['returned', 'current', 'False']]);
    // -s took the one snapshot: orders_ts did not see 3 return.
    expect((await versions(dir, 'snapshots.orders_ts')).filter((v) => v.id === 3)).toHaveLength(1);

    // --full-refresh never rebuilds a snapshot (its history exists nowhere else).
    const before = await versions(dir, 'history.orders_check', true);
    expect(before).toHaveLength(7);
    ok(dir, ['build', '--full-refresh']);
    expect(await versions(dir, 'history.orders_check', true)).toEqual(before);
  });

  it('reads a dbt project: snapshot-paths, +target_schema in dbt_project.yml, YAML tests and a YAML-defined snapshot with renamed columns', async () => {
    const dir = writeProject({
      'dbt_project.yml': 'name: shop\nprofile: shop\nsnapshot-paths: [history]\nsnapshots:\n  shop:\n    +target_schema: snapshots\n    +unique_key: id\n',
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev: { type: duckdb, path: target/snap.duckdb, schema: main }\n',
      'seeds/raw_orders.csv': csv(['1,placed,10,2024-01-01 00:00:00', '2,placed,20,2024-01-01 00:00:00']),
      'history/orders_snapshot.sql': "{% snapshot orders_snapshot %}\n    {{\n        config(\n          strategy='timestamp',\n          updated_at='updated_at',\n        )\n    }}\n    select * from {{ ref('raw_orders') }}\n{% endsnapshot %}\n",
      'history/snapshots.yml': [
        'snapshots:',
        '  - name: orders_snapshot',
        '    columns:',
        '      - name: status',
        "        data_tests: [{accepted_values: {values: ['placed', 'shipped']}}]",
        '  - name: orders_yaml',
        "    relation: ref('raw_orders')",
        '    config:',
        '      strategy: check',
        '      check_cols: all',
        '      hard_deletes: invalidate',
        '      snapshot_meta_column_names: {dbt_valid_from: valid_from, dbt_valid_to: valid_to}',
        "      dbt_valid_to_current: \"'9999-12-31'::timestamp\"",
        '',
      ].join('\n'),
    });
    const p = loadProject(dir);
    expect(p.diagnostics).toEqual([]);
    expect(p.models.get('snapshots.orders_yaml')).toMatchObject({ resourceType: 'snapshot', path: 'history/snapshots.yml', config: { materialized: 'snapshot', unique_key: ['id'], strategy: 'check' } });
    const build = lake(dir, ['build']);
    expect(build.code).toBe(0);
    expect(build.stdout).toMatch(/PASS\s*\|\s*accepted_values_orders_snapshot_status_/);
    const db = path.join(dir, 'target/snap.duckdb');
    expect(await query(db, "select id::integer as id, valid_to::varchar as t from snapshots.orders_yaml order by id")).toEqual([{ id: 1, t: '9999-12-31 00:00:00' }, { id: 2, t: '9999-12-31 00:00:00' }]);
    fs.writeFileSync(path.join(dir, 'seeds/raw_orders.csv'), csv(['1,placed,11,2024-01-01 00:00:00']));
    expect(lake(dir, ['build']).code).toBe(0);
    // check_cols all: the amount change makes a version; hard_deletes invalidate closes 2; the current ones keep 9999-12-31.
    const rows = await query<{ id: number; amount: number; current: boolean }>(db, "select id::integer as id, amount::integer as amount, valid_to = '9999-12-31'::timestamp as current from snapshots.orders_yaml order by id, valid_from, amount");
    expect(rows).toEqual([{ id: 1, amount: 10, current: false }, { id: 1, amount: 11, current: true }, { id: 2, amount: 20, current: false }]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'target/manifest.json'), 'utf8')) as { nodes: Record<string, { resource_type: string }> };
    expect(manifest.nodes['snapshots.orders_snapshot']?.resource_type).toBe('snapshot');
  });

  it('adds the query\'s new columns, and refuses a repeated or NULL key without touching the history', async () => {
    const dir = writeProject({
      'project.yml': PROJECT,
      'seeds/raw_orders.csv': csv(['1,placed,10,2024-01-01 00:00:00']),
      'snapshots/orders.sql': "{% snapshot orders_ts %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ ref('raw_orders') }}\n{% endsnapshot %}\n",
    });
    ok(dir, ['build']);
    const db = path.join(dir, 'target/snap.duckdb');
    fs.writeFileSync(path.join(dir, 'seeds/raw_orders.csv'), 'id,status,amount,updated_at,channel\n1,shipped,10,2024-01-02 00:00:00,web\n');
    ok(dir, ['build']);
    expect(await query(db, 'select id::integer as id, channel from snapshots.orders_ts order by dbt_valid_from')).toEqual([{ id: 1, channel: null }, { id: 1, channel: 'web' }]);

    fs.writeFileSync(path.join(dir, 'seeds/raw_orders.csv'), csv(['1,returned,10,2024-01-03 00:00:00', '1,lost,10,2024-01-04 00:00:00']));
    ok(dir, ['seed']);
    const dup = lake(dir, ['snapshot']);
    expect(dup.code).toBe(1);
    expect(dup.stdout + dup.stderr).toContain("snapshots.orders_ts: the snapshot's query returns the same unique_key (id) more than once");
    expect(dup.stdout + dup.stderr).toContain('qualify row_number() over (partition by id order by updated_at desc) = 1');
    fs.writeFileSync(path.join(dir, 'seeds/raw_orders.csv'), csv(['1,returned,10,2024-01-03 00:00:00', ',orphan,5,2024-01-03 00:00:00']));
    ok(dir, ['seed']);
    const nul = lake(dir, ['snapshot']);
    expect(nul.code).toBe(1);
    expect(nul.stdout + nul.stderr).toContain('has a NULL unique_key (id)');
    // Both failures left the history as it was (one transaction).
    expect(await query(db, 'select count(*)::integer as n from snapshots.orders_ts')).toEqual([{ n: 2 }]);
  });

  it('reports a snapshot without strategy or key, an unclosed block and a YAML entry that defines nothing, with file and line', () => {
    const dir = writeProject({
      'project.yml': PROJECT,
      'seeds/raw_orders.csv': csv(['1,placed,10,2024-01-01 00:00:00']),
      'snapshots/a.sql': "\n{% snapshot no_strategy %}\n{{ config(unique_key='id') }}\nselect * from {{ ref('raw_orders') }}\n{% endsnapshot %}\n",
      'snapshots/b.sql': "{% snapshot no_updated_at %}\n{{ config(unique_key='id', strategy='timestamp') }}\nselect 1 as id\n{% endsnapshot %}\n\n{% snapshot unclosed %}\nselect 1 as id\n",
      'snapshots/props.yml': 'snapshots:\n  - name: nowhere\n    description: no block, no relation\n',
    });
    const r = lake(dir, ['compile']);
    expect(r.code).toBe(2);
    const err = r.stdout + r.stderr;
    expect(err).toMatch(/snapshots\/b\.sql:6.*snapshot 'unclosed' has no \{% endsnapshot %\}/);
    expect(err).toMatch(/snapshots\/a\.sql:3.*a snapshot needs a strategy/);
    expect(err).toMatch(/snapshots\/b\.sql:2.*strategy 'timestamp' needs updated_at/);
    expect(err).toMatch(/snapshots\/props\.yml:2.*YAML describes snapshot 'nowhere', but no \{% snapshot nowhere %\} block defines it/);
  });

  it('follows dbt where an acceptance review found it did not: returning keys, typed dbt_valid_to_current, new check columns, target_schema', async () => {
    const dir = writeProject({
      'project.yml': `${PROJECT}snapshots:\n  +target_schema: hist\n  by_file:\n    +tags: [from_file]\n`,
      'seeds/raw_orders.csv': csv(['1,placed,10,2024-01-01 00:00:00', '2,placed,20,2024-01-01 00:00:00']),
      'snapshots/by_file.sql': [
        '{% snapshot ts_deletes %}',
        "{{ config(schema='ignored', unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='new_record', dbt_valid_to_current=\"'9999-12-31'\") }}",
        "select * from {{ ref('raw_orders') }}",
        '{% endsnapshot %}',
        '{% snapshot check_all %}',
        "{{ config(unique_key='id', strategy='check', check_cols='all') }}",
        "select * from {{ ref('raw_orders') }}",
        '{% endsnapshot %}',
        '',
      ].join('\n'),
    });
    const ls = lake(dir, ['ls', '--resource-type', 'snapshot', '-s', 'tag:from_file']);
    expect(ls.code).toBe(0);
    // target_schema from the project file wins over config(schema=); the file's name addresses its blocks.
    expect(ls.stdout.trim().split('\n').sort()).toEqual(['hist.check_all', 'hist.ts_deletes']);
    ok(dir, ['build']);
    const db = path.join(dir, 'target/snap.duckdb');
    expect(await query(db, "select data_type as t from information_schema.columns where table_name = 'ts_deletes' and column_name = 'dbt_valid_to'")).toEqual([{ t: 'TIMESTAMP' }]);
    // 2 is deleted, then comes back with an updated_at between the two snapshots.
    fs.writeFileSync(path.join(dir, 'seeds/raw_orders.csv'), csv(['1,placed,10,2024-01-01 00:00:00']));
    ok(dir, ['build']);
    const deletedAt = (await query<{ f: string }>(db, "select dbt_valid_from::varchar as f from hist.ts_deletes where dbt_is_deleted = 'True'"))[0]!.f;
    fs.writeFileSync(path.join(dir, 'seeds/raw_orders.csv'), 'id,status,amount,updated_at,channel\n1,placed,10,2024-01-01 00:00:00,web\n2,back,20,2099-01-01 00:00:00,web\n');
    ok(dir, ['build']);
    const two = await query<{ status: string; f: string; t: string; d: string }>(db, "select status, dbt_valid_from::varchar as f, dbt_valid_to::varchar as t, dbt_is_deleted as d from hist.ts_deletes where id = 2 order by dbt_valid_from");
    expect(two).toEqual([
      { status: 'placed', f: '2024-01-01 00:00:00', t: deletedAt, d: 'False' },
      // The deletion record ends where the returning row's version starts (dbt: at its updated_at).
      { status: 'placed', f: deletedAt, t: '2099-01-01 00:00:00', d: 'True' },
      { status: 'back', f: '2099-01-01 00:00:00', t: '9999-12-31 00:00:00', d: 'False' },
    ]);
    // check_cols 'all' and a new column: every current version is versioned again (1 had not changed otherwise).
    expect(await query(db, 'select id::integer as id, count(*)::integer as n from hist.check_all group by id order by id')).toEqual([{ id: 1, n: 2 }, { id: 2, n: 2 }]);
  });

  it('refuses what dbt refuses: a view in its place, both hard delete settings, a model of the same name, unknown check_cols, a YAML relation that is no call', async () => {
    const base = {
      'project.yml': PROJECT,
      'seeds/raw_orders.csv': csv(['1,placed,10,2024-01-01 00:00:00']),
    };
    const snap = (cfg: string, name = 's') => `{% snapshot ${name} %}\n{{ config(unique_key='id', ${cfg}) }}\nselect * from {{ ref('raw_orders') }}\n{% endsnapshot %}\n`;
    const view = writeProject({ ...base, 'snapshots/s.sql': snap("strategy='check', check_cols=['status']") });
    ok(view, ['seed']);
    const { DuckDBAdapter } = await import('../../src/adapter/duckdb/adapter.js');
    const db = await DuckDBAdapter.open(path.join(view, 'target/snap.duckdb'));
    await db.execute('create schema if not exists snapshots; create view snapshots.s as select 1 as id');
    await db.close();
    const r = lake(view, ['snapshot']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('snapshots.s: snapshots.s exists as a view, and a snapshot is a table');

    const both = lake(writeProject({ ...base, 'snapshots/s.sql': snap("strategy='check', check_cols='all', hard_deletes='ignore', invalidate_hard_deletes=true") }), ['compile']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/snapshots\/s\.sql:2.*hard_deletes and invalidate_hard_deletes are both set/);

    const clash = lake(writeProject({ ...base, 'snapshots/s.sql': snap("strategy='check', check_cols='all'", 'orders'), 'models/gold/orders.sql': 'select 1 as id\n' }), ['ls']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/snapshots\/s\.sql:1.*a snapshot and a model are both named orders \(the model is models\/gold\/orders\.sql\)/);

    // At the first snapshot already, where nothing is compared yet.
    const unknown = lake(writeProject({ ...base, 'snapshots/s.sql': snap("strategy='check', check_cols=['stauts']") }), ['build']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout + unknown.stderr).toContain('snapshots.s: check_cols names stauts, which the snapshot\'s query does not return');

    const rel = lake(writeProject({ ...base, 'snapshots/props.yml': "snapshots:\n  - name: from_yaml\n    relation: raw_orders\n    config: {unique_key: id, strategy: check, check_cols: all}\n" }), ['ls']);
    expect(rel.code).toBe(2);
    expect(rel.stderr).toMatch(/snapshots\/props\.yml:2.*snapshot 'from_yaml': relation must be a ref\(\) or source\(\) call, not raw_orders/);
  });
});

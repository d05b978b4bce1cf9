/**
 * Column lineage of tricky SQL, one construct per test, expected edges written out in full.
 * Each case that DuckDB accepts also checks lake's output names against the view DuckDB creates
 * from the same SQL over the same upstream tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBAdapter } from '../../src/adapter/duckdb/adapter.js';
import { modelColumnLineage, type ColumnLineage, type LineageKind } from '../../src/lineage/index.js';
import { lineage, schemaOfFrom, type Catalog } from './helpers.js';

const catalog: Catalog = {
  'silver.users': 'user_id int, name varchar, email varchar, manager_id int, address struct(city varchar, zip varchar), tags varchar[], updated_at timestamp',
  'silver.workouts': 'workout_id int, user_id int, gym_id int, started_at timestamp, ended_at timestamp, calories double',
  'silver.gyms': 'gym_id int, name varchar, city varchar',
  'bronze.users_legacy': 'user_id int, name varchar, email varchar',
  'source:kafka.bpm': 'user_id int, bpm int, ts timestamp, _lake_file varchar',
};

/** One expected output column; sources as [relation, column] pairs in first-seen order. */
function col(column: string, kind: LineageKind, sources: [string, string][]): ColumnLineage {
  return { column, kind, sources: sources.map(([relation, c]) => ({ relation, column: c })) };
}

let db: DuckDBAdapter;
beforeAll(async () => {
  db = await DuckDBAdapter.open(':memory:');
});
afterAll(async () => {
  await db.close();
});

/** Lineage for `sql`; unless told otherwise, DuckDB must create the same column names. */
async function run(sql: string, opts: { checkNames?: boolean; catalog?: Catalog } = {}) {
  const r = await lineage(db, opts.catalog ?? catalog, sql, opts);
  if (opts.checkNames !== false) expect(r.columns.map((c) => c.column)).toEqual(r.duckdb);
  return r;
}

describe('CTEs and aliases', () => {
  it('resolves a 3-CTE chain with table and column aliases, a CTE reading two earlier ones', async () => {
    const r = await run(`
      with u as (
        select usr.user_id as uid, usr.name as full_name, email from "silver"."users" as usr
      ), w as (
        select wk.user_id, wk.calories as kcal from silver.workouts wk where wk.started_at > '2024-01-01'
      ), joined(id, person, burnt) as (
        select u.uid, u.full_name, w.kcal from u join w on w.user_id = u.uid
      )
      select j.id as user_key, person, burnt * 1.1 as burnt_adj, upper(u.email) as mail
      from joined j join u on u.uid = j.id`);
    expect(r.columns).toEqual([
      col('user_key', 'direct', [['silver.users', 'user_id']]),
      col('person', 'direct', [['silver.users', 'name']]),
      col('burnt_adj', 'derived', [['silver.workouts', 'calories']]),
      col('mail', 'derived', [['silver.users', 'email']]),
    ]);
    expect(r.warnings).toEqual([]);
  });

  it('lets a CTE shadow a table name and an inner CTE shadow an outer one', async () => {
    const r = await run(`
      with gyms as (select gym_id, city as name from silver.gyms)
      select * from (
        with gyms as (select gym_id as g, name as label from gyms) select * from gyms
      ) x`);
    expect(r.columns).toEqual([
      col('g', 'direct', [['silver.gyms', 'gym_id']]),
      col('label', 'direct', [['silver.gyms', 'city']]),
    ]);
  });

  it('follows a recursive CTE through its anchor and recursive branch', async () => {
    const r = await run(`
      with recursive chain(uid, boss, depth) as (
        select user_id, manager_id, 0 from silver.users
        union all
        select c.uid, u.manager_id, c.depth + 1 from chain c join silver.users u on u.user_id = c.boss
      )
      select uid, boss, depth from chain`);
    expect(r.columns).toEqual([
      col('uid', 'direct', [['silver.users', 'user_id']]),
      col('boss', 'direct', [['silver.users', 'manager_id']]),
      col('depth', 'derived', []),
    ]);
  });

  it('uses an earlier select alias in a later item (lateral column alias)', async () => {
    const r = await run(`select calories / 1000 as mcal, mcal * 2 as double_mcal, user_id from silver.workouts`);
    expect(r.columns).toEqual([
      col('mcal', 'derived', [['silver.workouts', 'calories']]),
      col('double_mcal', 'derived', [['silver.workouts', 'calories']]),
      col('user_id', 'direct', [['silver.workouts', 'user_id']]),
    ]);
  });
});

describe('joins with the same column names', () => {
  it('self-join: qualified refs pick the right side', async () => {
    const r = await run(`
      select emp.user_id, emp.name, boss.name as manager_name, boss.user_id as manager_id
      from silver.users emp left join silver.users boss on boss.user_id = emp.manager_id`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['silver.users', 'user_id']]),
      col('name', 'direct', [['silver.users', 'name']]),
      col('manager_name', 'direct', [['silver.users', 'name']]),
      col('manager_id', 'direct', [['silver.users', 'user_id']]),
    ]);
  });

  it('two relations with the same column name: qualified refs, and DuckDB renames the duplicate', async () => {
    const r = await run(`
      select w.user_id, u.user_id, g.name, u.name, g.city
      from silver.workouts w join silver.users u on u.user_id = w.user_id join silver.gyms g on g.gym_id = w.gym_id`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['silver.workouts', 'user_id']]),
      col('user_id_1', 'direct', [['silver.users', 'user_id']]),
      col('name', 'direct', [['silver.gyms', 'name']]),
      col('name_1', 'direct', [['silver.users', 'name']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
    ]);
  });

  it('an unqualified ambiguous name counts both sides, with a warning', async () => {
    // DuckDB itself rejects this; lineage still says what can be known.
    const r = await run(`select name, gym_id from silver.users u, silver.gyms g`, { checkNames: false });
    expect(r.columns).toEqual([
      col('name', 'direct', [['silver.users', 'name'], ['silver.gyms', 'name']]),
      col('gym_id', 'direct', [['silver.gyms', 'gym_id']]),
    ]);
    expect(r.warnings).toEqual(['column "name" is ambiguous (silver.users, silver.gyms): lineage counts all of them']);
  });

  it('USING join: the join column once, from the left side; select * skips the right copy', async () => {
    const r = await run(`select * from silver.workouts join silver.users using (user_id)`);
    expect(r.columns).toEqual([
      col('workout_id', 'direct', [['silver.workouts', 'workout_id']]),
      col('user_id', 'direct', [['silver.workouts', 'user_id']]),
      col('gym_id', 'direct', [['silver.workouts', 'gym_id']]),
      col('started_at', 'direct', [['silver.workouts', 'started_at']]),
      col('ended_at', 'direct', [['silver.workouts', 'ended_at']]),
      col('calories', 'direct', [['silver.workouts', 'calories']]),
      col('name', 'direct', [['silver.users', 'name']]),
      col('email', 'direct', [['silver.users', 'email']]),
      col('manager_id', 'direct', [['silver.users', 'manager_id']]),
      col('address', 'direct', [['silver.users', 'address']]),
      col('tags', 'direct', [['silver.users', 'tags']]),
      col('updated_at', 'direct', [['silver.users', 'updated_at']]),
    ]);
  });

  it('FULL join USING: the join column comes from both sides; qualified refs still pick one', async () => {
    const r = await run(`
      select user_id, l.name as legacy_name, u.user_id as current_id
      from bronze.users_legacy l full join silver.users u using (user_id)`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['bronze.users_legacy', 'user_id'], ['silver.users', 'user_id']]),
      col('legacy_name', 'direct', [['bronze.users_legacy', 'name']]),
      col('current_id', 'direct', [['silver.users', 'user_id']]),
    ]);
  });

  it('NATURAL join merges every common column', async () => {
    const r = await run(`select * from bronze.users_legacy natural join silver.gyms`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['bronze.users_legacy', 'user_id']]),
      col('name', 'direct', [['bronze.users_legacy', 'name']]),
      col('email', 'direct', [['bronze.users_legacy', 'email']]),
      col('gym_id', 'direct', [['silver.gyms', 'gym_id']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
    ]);
  });

  it('columns used only in WHERE / ON / GROUP BY / HAVING / QUALIFY / ORDER BY are not sources', async () => {
    const r = await run(`
      select u.name, count(*) as n
      from silver.users u join silver.workouts w on w.user_id = u.user_id and w.calories > 100
      where u.email like '%@x.com' and w.gym_id in (select gym_id from silver.gyms where city = 'Oslo')
      group by u.name having max(w.ended_at) > now() - interval 1 day
      qualify row_number() over (order by min(u.updated_at)) < 10
      order by sum(w.workout_id)`);
    expect(r.columns).toEqual([
      col('name', 'direct', [['silver.users', 'name']]),
      col('n', 'aggregate', []),
    ]);
  });

  it('SEMI and ANTI joins: the right side only filters', async () => {
    const r = await run(`
      select * from silver.gyms g semi join silver.workouts w on w.gym_id = g.gym_id
      anti join bronze.users_legacy l on l.name = g.name`);
    expect(r.columns).toEqual([
      col('gym_id', 'direct', [['silver.gyms', 'gym_id']]),
      col('name', 'direct', [['silver.gyms', 'name']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
    ]);
  });
});

describe('stars', () => {
  it('select * over a join lists both sides, duplicates renamed as DuckDB does', async () => {
    const r = await run(`select * from silver.gyms g join bronze.users_legacy l on l.user_id = g.gym_id`);
    expect(r.columns).toEqual([
      col('gym_id', 'direct', [['silver.gyms', 'gym_id']]),
      col('name', 'direct', [['silver.gyms', 'name']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
      col('user_id', 'direct', [['bronze.users_legacy', 'user_id']]),
      col('name_1', 'direct', [['bronze.users_legacy', 'name']]),
      col('email', 'direct', [['bronze.users_legacy', 'email']]),
    ]);
  });

  it('t.* picks one side of a join', async () => {
    const r = await run(`select g.*, l.email from silver.gyms g join bronze.users_legacy l on l.user_id = g.gym_id`);
    expect(r.columns).toEqual([
      col('gym_id', 'direct', [['silver.gyms', 'gym_id']]),
      col('name', 'direct', [['silver.gyms', 'name']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
      col('email', 'direct', [['bronze.users_legacy', 'email']]),
    ]);
  });

  it('* exclude (a, b) and t.* exclude (t.a)', async () => {
    const r = await run(`
      with u as (select * exclude (address, tags, updated_at) from silver.users)
      select u.* exclude (u.manager_id, EMAIL), g.* exclude (g.gym_id) from u cross join silver.gyms g`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['silver.users', 'user_id']]),
      col('name', 'direct', [['silver.users', 'name']]),
      col('name_1', 'direct', [['silver.gyms', 'name']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
    ]);
  });

  it('* replace (expr as a) keeps the position and makes the column derived', async () => {
    const r = await run(`select * replace (lower(name) || '@' || city as name, 0 as gym_id) from silver.gyms`);
    expect(r.columns).toEqual([
      col('gym_id', 'derived', []),
      col('name', 'derived', [['silver.gyms', 'name'], ['silver.gyms', 'city']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
    ]);
  });

  it('* rename (a as b)', async () => {
    const r = await run(`select * rename (name as gym_name) from silver.gyms`);
    expect(r.columns).toEqual([
      col('gym_id', 'direct', [['silver.gyms', 'gym_id']]),
      col('gym_name', 'direct', [['silver.gyms', 'name']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
    ]);
  });

  it('COLUMNS(regex), COLUMNS(lambda), COLUMNS(list) and * LIKE, evaluated by DuckDB', async () => {
    const r = await run(`
      select columns('_at$'), columns(c -> c like '%mail%'), columns(['name', 'user_id']), * like 'man%'
      from silver.users`);
    expect(r.columns).toEqual([
      col('updated_at', 'direct', [['silver.users', 'updated_at']]),
      col('email', 'direct', [['silver.users', 'email']]),
      col('user_id', 'direct', [['silver.users', 'user_id']]),
      col('name', 'direct', [['silver.users', 'name']]),
      col('manager_id', 'direct', [['silver.users', 'manager_id']]),
    ]);
  });

  it('an aggregate over COLUMNS(* exclude ...) gives one aggregate column per column', async () => {
    const r = await run(`select max(columns(* exclude (workout_id, user_id, gym_id))) from silver.workouts`);
    expect(r.columns).toEqual([
      col('started_at', 'aggregate', [['silver.workouts', 'started_at']]),
      col('ended_at', 'aggregate', [['silver.workouts', 'ended_at']]),
      col('calories', 'aggregate', [['silver.workouts', 'calories']]),
    ]);
  });

  it('select * through a subquery with a column alias list', async () => {
    const r = await run(`select * from (select gym_id, name, city from silver.gyms) as g(id, label)`);
    expect(r.columns).toEqual([
      col('id', 'direct', [['silver.gyms', 'gym_id']]),
      col('label', 'direct', [['silver.gyms', 'name']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
    ]);
  });
});

describe('expressions', () => {
  it('aggregates: kind aggregate, group keys direct, FILTER and ORDER BY columns are not sources', async () => {
    const r = await run(`
      select user_id, count(*) as workouts, count(distinct gym_id) as gyms,
             sum(calories) filter (where ended_at is not null) as kcal,
             string_agg(workout_id::varchar, ',' order by started_at) as ids,
             arg_max(gym_id, started_at) as last_gym
      from silver.workouts group by user_id`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['silver.workouts', 'user_id']]),
      col('workouts', 'aggregate', []),
      col('gyms', 'aggregate', [['silver.workouts', 'gym_id']]),
      col('kcal', 'aggregate', [['silver.workouts', 'calories']]),
      col('ids', 'aggregate', [['silver.workouts', 'workout_id']]),
      col('last_gym', 'aggregate', [['silver.workouts', 'gym_id'], ['silver.workouts', 'started_at']]),
    ]);
  });

  it('window functions: the value only, PARTITION BY / ORDER BY / frame are not sources', async () => {
    const r = await run(`
      select workout_id,
             sum(calories) over (partition by user_id order by started_at rows between 2 preceding and current row) as rolling,
             row_number() over w,
             lag(ended_at, 1, started_at) over w as prev_end,
             calories - avg(calories) over (partition by gym_id) as vs_gym
      from silver.workouts
      window w as (partition by user_id order by started_at)`);
    expect(r.columns).toEqual([
      col('workout_id', 'direct', [['silver.workouts', 'workout_id']]),
      col('rolling', 'window', [['silver.workouts', 'calories']]),
      col('row_number() OVER (PARTITION BY user_id ORDER BY started_at)', 'window', []),
      col('prev_end', 'window', [['silver.workouts', 'ended_at'], ['silver.workouts', 'started_at']]),
      col('vs_gym', 'window', [['silver.workouts', 'calories']]),
    ]);
  });

  it('CASE (conditions count), COALESCE, casts and functions are derived; unaliased names match DuckDB', async () => {
    const r = await run(`
      select case when calories > 500 then 'high' when gym_id is null then started_at::varchar else 'low' end as band,
             coalesce(ended_at, started_at),
             calories::int,
             cast(gym_id as varchar) as gym,
             try_cast(workout_id as bigint) as wid,
             date_diff('minute', started_at, ended_at) as minutes,
             'wearables' as source_system,
             workout_id + 1
      from silver.workouts`);
    expect(r.columns).toEqual([
      col('band', 'derived', [['silver.workouts', 'calories'], ['silver.workouts', 'gym_id'], ['silver.workouts', 'started_at']]),
      col('COALESCE(ended_at, started_at)', 'derived', [['silver.workouts', 'ended_at'], ['silver.workouts', 'started_at']]),
      col('CAST(calories AS INTEGER)', 'derived', [['silver.workouts', 'calories']]),
      col('gym', 'derived', [['silver.workouts', 'gym_id']]),
      col('wid', 'derived', [['silver.workouts', 'workout_id']]),
      col('minutes', 'derived', [['silver.workouts', 'started_at'], ['silver.workouts', 'ended_at']]),
      col('source_system', 'derived', []),
      col('(workout_id + 1)', 'derived', [['silver.workouts', 'workout_id']]),
    ]);
  });

  it('struct field access: address.city is column address', async () => {
    const r = await run(`
      with m as (select user_id, address as home from silver.users)
      select address.city, users.address.zip as zip, "silver"."users".address['city'] as city2,
             silver.users.user_id, m.home.city as manager_city,
             list_transform(tags, t -> upper(t) || email) as tagged
      from silver.users join m on m.user_id = users.manager_id`);
    expect(r.columns).toEqual([
      col('city', 'derived', [['silver.users', 'address']]),
      col('zip', 'derived', [['silver.users', 'address']]),
      col('city2', 'derived', [['silver.users', 'address']]),
      col('user_id', 'direct', [['silver.users', 'user_id']]),
      col('manager_city', 'derived', [['silver.users', 'address']]),
      col('tagged', 'derived', [['silver.users', 'tags'], ['silver.users', 'email']]),
    ]);
    expect(r.warnings).toEqual([]);
  });

  it('a struct built field by field keeps each field\'s lineage: s.p, s[\'q\'], struct_extract, s.*, unnest(s)', async () => {
    const r = await run(`
      with st as (select user_id, {'n': name, 'e': email} as s, struct_pack(c := calories, g := gym_id) as w from silver.users join silver.workouts using (user_id))
      select s.n as nm, s['e'] as em, struct_extract(w, 'c') as cal, s, st.w.g as gym from st`);
    expect(r.columns).toEqual([
      col('nm', 'derived', [['silver.users', 'name']]),
      col('em', 'derived', [['silver.users', 'email']]),
      col('cal', 'derived', [['silver.workouts', 'calories']]),
      { ...col('s', 'derived', [['silver.users', 'name'], ['silver.users', 'email']]), fields: [col('n', 'direct', [['silver.users', 'name']]), col('e', 'direct', [['silver.users', 'email']])] },
      col('gym', 'derived', [['silver.workouts', 'gym_id']]),
    ]);
    const star = await run(`select s.*, unnest(w) from (select {'n': name} as s, {'z': zip_code} as w from (select name, address.zip as zip_code from silver.users))`, { checkNames: false });
    expect(star.columns.map((c) => `${c.column}<-${c.sources.map((x) => x.column).join('+')}`)).toEqual(['n<-name', 'z<-address']);
  });

  it('scalar subqueries contribute their value; EXISTS only filters', async () => {
    const r = await run(`
      select g.gym_id,
             (select max(w.calories) from silver.workouts w where w.gym_id = g.gym_id) as best,
             exists (select 1 from silver.workouts w where w.gym_id = g.gym_id) as used,
             g.city in (select address.city from silver.users) as has_members
      from silver.gyms g`);
    expect(r.columns).toEqual([
      col('gym_id', 'direct', [['silver.gyms', 'gym_id']]),
      col('best', 'aggregate', [['silver.workouts', 'calories']]),
      col('used', 'derived', []),
      col('has_members', 'derived', [['silver.gyms', 'city'], ['silver.users', 'address']]),
    ]);
  });

  it('kinds carry through CTEs: an aggregate stays aggregate, a window stays window', async () => {
    const r = await run(`
      with per_user as (select user_id, sum(calories) as kcal from silver.workouts group by user_id),
           ranked as (select user_id, kcal, rank() over (order by kcal desc) as pos from per_user)
      select r.user_id, coalesce(r.kcal, 0) as kcal, r.pos, u.name
      from ranked r join silver.users u on u.user_id = r.user_id`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['silver.workouts', 'user_id']]),
      col('kcal', 'aggregate', [['silver.workouts', 'calories']]),
      col('pos', 'window', []),
      col('name', 'direct', [['silver.users', 'name']]),
    ]);
  });
});

describe('set operations and FROM items', () => {
  it('UNION ALL of two relations: column i from each branch, names from the first', async () => {
    const r = await run(`
      select user_id, name, email from bronze.users_legacy
      union all
      select user_id, upper(name), email from "silver"."users" where manager_id is not null`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['bronze.users_legacy', 'user_id'], ['silver.users', 'user_id']]),
      col('name', 'derived', [['bronze.users_legacy', 'name'], ['silver.users', 'name']]),
      col('email', 'direct', [['bronze.users_legacy', 'email'], ['silver.users', 'email']]),
    ]);
  });

  it('UNION of three branches inside a CTE, and EXCEPT whose right side only filters', async () => {
    const r = await run(`
      with people as (
        select user_id as id, name from silver.users
        union select user_id, name from bronze.users_legacy
        union select gym_id, city from silver.gyms
      )
      select id, name from people except select user_id, email from bronze.users_legacy`);
    expect(r.columns).toEqual([
      col('id', 'direct', [['silver.users', 'user_id'], ['bronze.users_legacy', 'user_id'], ['silver.gyms', 'gym_id']]),
      col('name', 'direct', [['silver.users', 'name'], ['bronze.users_legacy', 'name'], ['silver.gyms', 'city']]),
    ]);
  });

  it('UNION ALL BY NAME matches columns by name', async () => {
    const r = await run(`
      select email, user_id from bronze.users_legacy
      union all by name
      select user_id, name as email, updated_at from silver.users`);
    expect(r.columns).toEqual([
      col('email', 'direct', [['bronze.users_legacy', 'email'], ['silver.users', 'name']]),
      col('user_id', 'direct', [['bronze.users_legacy', 'user_id'], ['silver.users', 'user_id']]),
      col('updated_at', 'direct', [['silver.users', 'updated_at']]),
    ]);
  });

  it('nested subqueries in FROM, a lateral subquery and unnest over a column', async () => {
    const r = await run(`
      select s.uid, s.kcal, l.half, t.tag
      from (select user_id as uid, kcal from (select user_id, calories as kcal from silver.workouts) w0) s,
           lateral (select s.kcal / 2 as half) l,
           (select user_id, unnest(tags) as tag from silver.users) t`);
    expect(r.columns).toEqual([
      col('uid', 'direct', [['silver.workouts', 'user_id']]),
      col('kcal', 'direct', [['silver.workouts', 'calories']]),
      col('half', 'derived', [['silver.workouts', 'calories']]),
      col('tag', 'derived', [['silver.users', 'tags']]),
    ]);
  });

  it('unnest in FROM and VALUES', async () => {
    const r = await run(`
      select u.user_id, x.tag, v.label
      from silver.users u, unnest(u.tags) as x(tag), (values (1, 'one'), (2, 'two')) v(n, label)`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['silver.users', 'user_id']]),
      col('tag', 'derived', [['silver.users', 'tags']]),
      col('label', 'derived', []),
    ]);
  });

  it("maps the executor's temp views to model and source ids", async () => {
    const r = await run(`
      select b.user_id, b.bpm, w.calories
      from __lake_source__kafka__bpm b join "__lake_stream__silver__workouts" w on w.user_id = b.user_id`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['source:kafka.bpm', 'user_id']]),
      col('bpm', 'direct', [['source:kafka.bpm', 'bpm']]),
      col('calories', 'direct', [['silver.workouts', 'calories']]),
    ]);
  });

  it('the caller can map a table to a relation id (a source over an existing table)', async () => {
    const r = await modelColumnLineage(db, `select r.user_id, bpm from "raw"."bpm" r join silver.users u using (user_id)`, schemaOfFrom(catalog), {
      relationId: (schema, table) => (schema === 'raw' && table === 'bpm' ? 'source:kafka.bpm' : undefined),
    });
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['source:kafka.bpm', 'user_id']]),
      col('bpm', 'direct', [['source:kafka.bpm', 'bpm']]),
    ]);
    expect(r.warnings).toEqual([]);
  });

  it('unquoted and differently-cased names resolve case-insensitively to the catalog spelling', async () => {
    const r = await run(`select G.GYM_ID, City from SILVER.GYMS g`);
    expect(r.columns).toEqual([
      col('gym_id', 'direct', [['silver.gyms', 'gym_id']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
    ]);
    expect(r.warnings).toEqual([]);
  });
});

describe('DuckDB-specific syntax', () => {
  it('lambdas bind their parameters; outside a lambda function `->` is the JSON operator', async () => {
    const r = await run(`
      select list_transform(tags, (t, i) -> t || i || name) as numbered,
             [upper(t) for t in tags if t <> email] as upper_tags,
             to_json(address) -> '$.city' as city_json,
             json_extract_string(to_json(address) -> 'zip', '$') as zip
      from silver.users`);
    expect(r.columns).toEqual([
      col('numbered', 'derived', [['silver.users', 'tags'], ['silver.users', 'name']]),
      col('upper_tags', 'derived', [['silver.users', 'tags'], ['silver.users', 'email']]),
      col('city_json', 'derived', [['silver.users', 'address']]),
      col('zip', 'derived', [['silver.users', 'address']]),
    ]);
  });

  it('FROM-first, DISTINCT ON, POSITIONAL and ASOF joins, COALESCE(*COLUMNS(...))', async () => {
    const r = await run(`
      from silver.workouts w
      asof join __lake_source__kafka__bpm b on b.user_id = w.user_id and b.ts <= w.started_at
      positional join silver.gyms g
      select distinct on (w.user_id) w.user_id, b.bpm as bpm_at_start, g.city, coalesce(*columns(['gym_id', 'workout_id'])) as any_id
      order by w.user_id`);
    expect(r.columns).toEqual([
      col('user_id', 'direct', [['silver.workouts', 'user_id']]),
      col('bpm_at_start', 'direct', [['source:kafka.bpm', 'bpm']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
      col('any_id', 'derived', [['silver.workouts', 'workout_id'], ['silver.workouts', 'gym_id'], ['silver.gyms', 'gym_id']]),
    ]);
  });

  it('PIVOT is not traced, with a warning', async () => {
    const r = await run(`select * from silver.workouts pivot (sum(calories) for gym_id in (1, 2))`, { checkNames: false });
    expect(r.columns).toEqual([]);
    expect(r.warnings).toEqual([
      'FROM item of type PIVOT is not traced: columns read from it have no lineage',
      '`*` over PIVOT cannot be expanded: its columns are unknown and are not listed',
    ]);
  });
});

describe('what cannot be known', () => {
  it('an unknown relation: refs become edges as written, * is not expanded, a warning says so', async () => {
    const r = await run(`select g.name, g.*, n.score, score * 2 as double_score from silver.gyms g join silver.ratings n on n.gym_id = g.gym_id`, {
      checkNames: false,
    });
    expect(r.columns).toEqual([
      col('name', 'direct', [['silver.gyms', 'name']]),
      col('gym_id', 'direct', [['silver.gyms', 'gym_id']]),
      col('name_1', 'direct', [['silver.gyms', 'name']]),
      col('city', 'direct', [['silver.gyms', 'city']]),
      col('score', 'direct', [['silver.ratings', 'score']]),
      col('double_score', 'derived', [['silver.ratings', 'score']]),
    ]);
    expect(r.warnings).toEqual(['relation silver.ratings is not in the catalog: its columns are taken as written and `*` over it cannot be expanded']);
  });

  it('a column found nowhere is kind unknown, with a warning', async () => {
    const r = await run(`select gym_id, nope + 1 as broken from silver.gyms`, { checkNames: false });
    expect(r.columns).toEqual([col('gym_id', 'direct', [['silver.gyms', 'gym_id']]), col('broken', 'unknown', [])]);
    expect(r.warnings).toEqual(['column nope is not found in any FROM item']);
  });

  it('a table function is not traced', async () => {
    const r = await run(`select * from read_csv('x.csv')`, { checkNames: false });
    expect(r.columns).toEqual([]);
    expect(r.warnings).toEqual([
      'table function read_csv(...) is not traced: columns read from it have no lineage',
      '`*` over read_csv() cannot be expanded: its columns are unknown and are not listed',
    ]);
  });

  it('SQL DuckDB cannot parse gives one warning with line and column, not a throw', async () => {
    const r = await run(`select gym_id,\n  from from silver.gyms`, { checkNames: false });
    expect(r.columns).toEqual([]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^cannot parse the model SQL: .*syntax error.*\(line 2, col \d+\)$/);
  });
});

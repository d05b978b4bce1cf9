/**
 * Hand-made manifest, catalog and run results in the shapes of docs/target-files.md: the
 * wearables lakehouse of seed 002 in 12 nodes (3 sources + 1 seed → 3 bronze → 3 silver → 2 gold)
 * with column lineage; and a generator of large projects for manual measurements.
 */
import type { Catalog, Manifest, ManifestNode, ManifestSource, RunResults } from '../../src/docs/inputs.js';

const col = (name: string, description?: string, data_type?: string) => ({ name, description, data_type });

const src = (source_name: string, name: string, description: string, landing: ManifestSource['landing'], columns: string[]): ManifestSource => ({
  id: `source:${source_name}.${name}`,
  resource_type: 'source',
  source_name,
  name,
  description,
  path: 'models/bronze/sources.yml',
  columns: Object.fromEntries(columns.map((c) => [c, col(c)])),
  landing,
  relation: landing ? null : `"raw"."${name}"`,
});

interface ModelSpec {
  id: string;
  kind?: 'model' | 'seed';
  materialized: string;
  extra?: Record<string, unknown>;
  description: string;
  raw: string;
  compiled: string;
  parents: string[];
  columns: Record<string, string>;
  tests?: ManifestNode['tests'];
}

const model = (s: ModelSpec): ManifestNode => {
  const [schema, name] = s.id.split('.') as [string, string];
  const kind = s.kind ?? 'model';
  return {
    id: s.id,
    resource_type: kind,
    name,
    schema,
    path: kind === 'seed' ? `seeds/${name}.csv` : `models/${schema}/${name}.sql`,
    raw_sql: s.raw,
    compiled_sql: s.compiled,
    config: { materialized: s.materialized, schema, tags: [], ...s.extra },
    description: s.description,
    tags: [],
    columns: Object.fromEntries(Object.entries(s.columns).map(([c, d]) => [c, col(c, d || undefined)])),
    depends_on: {
      nodes: s.parents.filter((p) => !p.startsWith('source:')),
      sources: s.parents.filter((p) => p.startsWith('source:')),
      macros: s.id === 'silver.user_profile' ? ['age_band'] : [],
    },
    checksum: 'abc',
    tests: s.tests ?? [],
  };
};

const MODELS: ModelSpec[] = [
  {
    id: 'main.gym_macs',
    kind: 'seed',
    materialized: 'seed',
    description: 'Gym id for each gateway MAC address.',
    raw: '',
    compiled: '',
    parents: [],
    columns: { mac_address: 'Gateway MAC address', gym: 'Gym id' },
  },
  {
    id: 'bronze.registered_users',
    materialized: 'incremental',
    extra: { incremental_strategy: 'append' },
    description: 'Registered users, as landed.',
    raw: "select user_id, device_id, mac_address, registration_timestamp\nfrom {{ source('landing', 'registered_users') }}",
    compiled: 'select user_id, device_id, mac_address, registration_timestamp\nfrom "__lake_source__landing__registered_users"',
    parents: ['source:landing.registered_users'],
    columns: { user_id: 'User id', device_id: '', mac_address: '', registration_timestamp: '' },
  },
  {
    id: 'bronze.user_info',
    materialized: 'incremental',
    extra: { incremental_strategy: 'append' },
    description: 'User profile change events from Kafka.',
    raw: "select user_id, update_type, timestamp, dob, sex, city, state\nfrom {{ source('kafka', 'user_info') }}",
    compiled: 'select user_id, update_type, timestamp, dob, sex, city, state\nfrom "__lake_source__kafka__user_info"',
    parents: ['source:kafka.user_info'],
    columns: { user_id: '', update_type: 'new | update | delete', timestamp: '', dob: '', sex: '', city: '', state: '' },
  },
  {
    id: 'bronze.bpm',
    materialized: 'incremental',
    extra: { incremental_strategy: 'append' },
    description: 'Heart-rate readings from the watches.',
    raw: "select device_id, time, heartrate\nfrom {{ source('kafka', 'bpm') }}",
    compiled: 'select device_id, time, heartrate\nfrom "__lake_source__kafka__bpm"',
    parents: ['source:kafka.bpm'],
    columns: { device_id: '', time: '', heartrate: 'Beats per minute' },
  },
  {
    id: 'silver.users',
    materialized: 'incremental',
    extra: { incremental_strategy: 'insert_new', unique_key: ['user_id'] },
    description: 'One row per registered user.',
    raw: "select user_id, device_id, mac_address, registration_timestamp\nfrom {{ ref('registered_users') }}",
    compiled: 'select user_id, device_id, mac_address, registration_timestamp\nfrom "bronze"."registered_users"',
    parents: ['bronze.registered_users'],
    columns: { user_id: 'User id', device_id: 'Watch id', mac_address: '', registration_timestamp: '' },
    tests: [
      { name: 'unique', column: 'user_id', args: {}, config: {} },
      { name: 'not_null', column: 'user_id', args: {}, config: {} },
    ],
  },
  {
    id: 'silver.user_profile',
    materialized: 'incremental',
    extra: {
      incremental_strategy: 'cdc',
      unique_key: ['user_id'],
      sequence_by: ['timestamp'],
      expectations: { valid_sex: "sex in ('M', 'F')", has_city: 'city is not null' },
      on_violation: 'drop',
    },
    description: 'Latest profile per user (CDC upsert, SCD 1).',
    raw: "select u.user_id, u.device_id, i.dob, {{ age_band('i.dob') }} as age, i.sex, i.city, i.state, i.timestamp\nfrom {{ ref('users') }} u\njoin {{ ref('user_info') }} i using (user_id)",
    compiled:
      "select u.user_id, u.device_id, i.dob, case when date_diff('year', i.dob, current_date) < 30 then 'under 30' else '30+' end as age, i.sex, i.city, i.state, i.timestamp\nfrom \"silver\".\"users\" u\njoin \"bronze\".\"user_info\" i using (user_id)",
    parents: ['silver.users', 'bronze.user_info'],
    columns: { user_id: '', device_id: '', dob: '', age: 'Age band', sex: '', city: '', state: '', timestamp: '' },
    tests: [{ name: 'accepted_values', column: 'sex', args: { values: ['M', 'F'] }, config: {} }],
  },
  {
    id: 'silver.workout_bpm',
    materialized: 'incremental',
    extra: { incremental_strategy: 'insert_new', unique_key: ['user_id', 'time'] },
    description: 'Heart-rate readings within each workout session.',
    raw: "select u.user_id, b.time, b.heartrate\nfrom {{ ref('bpm') }} b\njoin {{ ref('users') }} u using (device_id)",
    compiled: 'select u.user_id, b.time, b.heartrate\nfrom "bronze"."bpm" b\njoin "silver"."users" u using (device_id)',
    parents: ['bronze.bpm', 'silver.users'],
    columns: { user_id: 'User id', time: 'Reading time', heartrate: 'Beats per minute' },
    tests: [{ name: 'not_null', column: 'heartrate', args: {}, config: {} }],
  },
  {
    id: 'gold.workout_bpm_summary',
    materialized: 'table',
    description: 'Workout BPM Summary: min, avg and max bpm per user and workout.',
    raw: "select w.user_id, p.age, p.sex, p.city, p.state,\n  min(w.heartrate) as min_bpm, avg(w.heartrate) as avg_bpm, max(w.heartrate) as max_bpm\nfrom {{ ref('workout_bpm') }} w\njoin {{ ref('user_profile') }} p using (user_id)\ngroup by all",
    compiled:
      'select w.user_id, p.age, p.sex, p.city, p.state,\n  min(w.heartrate) as min_bpm, avg(w.heartrate) as avg_bpm, max(w.heartrate) as max_bpm\nfrom "silver"."workout_bpm" w\njoin "silver"."user_profile" p using (user_id)\ngroup by all',
    parents: ['silver.workout_bpm', 'silver.user_profile'],
    columns: { user_id: '', age: '', sex: '', city: '', state: '', min_bpm: '', avg_bpm: 'Average bpm', max_bpm: '' },
    tests: [{ name: 'not_null', column: 'avg_bpm', args: {}, config: {} }],
  },
  {
    id: 'gold.gym_summary',
    materialized: 'view',
    description: 'Gym Summary: minutes in the gym per user and day.',
    raw: "select g.gym, u.mac_address, count(*) as minutes_in_gym\nfrom {{ ref('users') }} u\njoin {{ ref('gym_macs') }} g using (mac_address)\ngroup by all",
    compiled: 'select g.gym, u.mac_address, count(*) as minutes_in_gym\nfrom "silver"."users" u\njoin "main"."gym_macs" g using (mac_address)\ngroup by all',
    parents: ['silver.users', 'main.gym_macs'],
    columns: { gym: '', mac_address: '', minutes_in_gym: '' },
  },
];

/** target column -> [upstream relation, column][] */
const LINEAGE: Record<string, Record<string, [string, string][]>> = {
  'bronze.registered_users': {
    user_id: [['source:landing.registered_users', 'user_id']],
    device_id: [['source:landing.registered_users', 'device_id']],
    mac_address: [['source:landing.registered_users', 'mac_address']],
    registration_timestamp: [['source:landing.registered_users', 'registration_timestamp']],
  },
  'bronze.user_info': {
    user_id: [['source:kafka.user_info', 'value']],
    dob: [['source:kafka.user_info', 'value']],
    sex: [['source:kafka.user_info', 'value']],
    city: [['source:kafka.user_info', 'value']],
  },
  'bronze.bpm': {
    // resolved through the quoted relation / source label forms on purpose
    device_id: [['kafka.bpm', 'value']],
    time: [['kafka.bpm', 'timestamp']],
    heartrate: [['kafka.bpm', 'value']],
  },
  'silver.users': {
    user_id: [['bronze.registered_users', 'user_id']],
    device_id: [['bronze.registered_users', 'device_id']],
    mac_address: [['bronze.registered_users', 'mac_address']],
  },
  'silver.user_profile': {
    user_id: [['silver.users', 'user_id']],
    device_id: [['silver.users', 'device_id']],
    dob: [['bronze.user_info', 'dob']],
    age: [['bronze.user_info', 'dob']],
    sex: [['bronze.user_info', 'sex']],
    city: [['bronze.user_info', 'city']],
  },
  'silver.workout_bpm': {
    user_id: [['silver.users', 'user_id']],
    time: [['bronze.bpm', 'time']],
    heartrate: [['bronze.bpm', 'heartrate']],
  },
  'gold.workout_bpm_summary': {
    user_id: [['silver.workout_bpm', 'user_id']],
    age: [['silver.user_profile', 'age']],
    sex: [['silver.user_profile', 'sex']],
    city: [['silver.user_profile', 'city']],
    min_bpm: [['silver.workout_bpm', 'heartrate']],
    avg_bpm: [['silver.workout_bpm', 'heartrate']],
    max_bpm: [['silver.workout_bpm', 'heartrate']],
  },
  'gold.gym_summary': {
    gym: [['main.gym_macs', 'gym']],
    mac_address: [['silver.users', 'mac_address']],
    minutes_in_gym: [['nowhere.missing', 'x']],
  },
};

const TYPES: Record<string, string> = {
  user_id: 'BIGINT',
  device_id: 'BIGINT',
  time: 'TIMESTAMP',
  timestamp: 'TIMESTAMP',
  registration_timestamp: 'TIMESTAMP',
  heartrate: 'DOUBLE',
  min_bpm: 'DOUBLE',
  avg_bpm: 'DOUBLE',
  max_bpm: 'DOUBLE',
  dob: 'DATE',
  minutes_in_gym: 'BIGINT',
};

export interface Fixture {
  manifest: Manifest;
  catalog: Catalog;
  runResults: RunResults;
}

/** The 12-node wearables fixture. */
export function smallFixture(): Fixture {
  const sources: ManifestSource[] = [
    src('kafka', 'bpm', 'Heart-rate readings (Kafka envelope).', { dir: 'landing/stream', format: 'kafka', files: 'bpm/*.jsonl', schema_evolution: 'rescue', bad_records: 'quarantine' }, [
      'key',
      'value',
      'topic',
      'partition',
      'offset',
      'timestamp',
    ]),
    src('kafka', 'user_info', 'User profile updates (Kafka envelope).', { dir: 'landing/stream', format: 'kafka', files: 'user_info/*.jsonl', schema_evolution: 'add_new_columns', bad_records: 'quarantine' }, [
      'key',
      'value',
      'topic',
      'partition',
      'offset',
      'timestamp',
    ]),
    src('landing', 'registered_users', 'Registration table exported daily as CSV.', { dir: 'landing/batch', format: 'csv', files: 'registered_users/*.csv', schema_evolution: 'fail', bad_records: 'fail' }, [
      'user_id',
      'device_id',
      'mac_address',
      'registration_timestamp',
    ]),
  ];
  const nodes = MODELS.map(model);
  const parent_map: Record<string, string[]> = {};
  const child_map: Record<string, string[]> = {};
  for (const m of MODELS) {
    parent_map[m.id] = m.parents;
    for (const p of m.parents) (child_map[p] ??= []).push(m.id);
  }
  const manifest: Manifest = {
    metadata: { lake_version: '0.1.0', generated_at: '2024-05-01T10:00:00.000Z', project: 'wearables', flavor: 'lake' },
    nodes: Object.fromEntries(nodes.map((n) => [n.id, n])),
    sources: Object.fromEntries(sources.map((s) => [s.id, s])),
    macros: { age_band: { name: 'age_band', path: 'macros/age_band.sql', line: 1 } },
    parent_map,
    child_map,
    column_lineage: Object.fromEntries(
      Object.entries(LINEAGE).map(([t, cols]) => [t, Object.fromEntries(Object.entries(cols).map(([c, refs]) => [c, refs.map(([relation, column]) => ({ relation, column }))]))]),
    ),
  };
  const catalog: Catalog = {
    nodes: Object.fromEntries(
      MODELS.map((m, i) => [
        m.id,
        {
          // the database knows one column the YAML does not document, and not the documented `state` of bronze.user_info
          columns: Object.keys(m.columns)
            .filter((c) => !(m.id === 'bronze.user_info' && c === 'state'))
            .map((c) => ({ name: c, type: TYPES[c] ?? 'VARCHAR' }))
            .concat(m.id === 'silver.users' ? [{ name: '_lake_file', type: 'VARCHAR' }] : []),
          rows: 100 * (i + 1),
        },
      ]),
    ),
    sources: {
      'source:kafka.bpm': { files: 12, rows: 3456, bad_records: 2 },
      'source:kafka.user_info': { files: 4, rows: 120, bad_records: 0 },
      'source:landing.registered_users': { files: 3, rows: 90, bad_records: 0 },
    },
  };
  const t0 = Date.parse('2024-05-01T10:00:00.000Z');
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  const runResults: RunResults = {
    run_id: 'run-42',
    command: 'run',
    started_at: at(0),
    finished_at: at(1500),
    elapsed_ms: 1500,
    status: 'error',
    results: [
      { id: 'main.gym_macs', status: 'success', rows: 5, started_at: at(10), duration_ms: 40 },
      { id: 'bronze.registered_users', status: 'success', rows: 90, started_at: at(12), duration_ms: 210, files: 3, bad_records: 0 },
      { id: 'bronze.user_info', status: 'success', rows: 120, started_at: at(15), duration_ms: 260, files: 4, bad_records: 0 },
      { id: 'bronze.bpm', status: 'success', rows: 3454, started_at: at(230), duration_ms: 480, files: 12, bad_records: 2 },
      { id: 'silver.users', status: 'success', rows: 90, started_at: at(240), duration_ms: 120 },
      {
        id: 'silver.user_profile',
        status: 'success',
        rows: 88,
        started_at: at(370),
        duration_ms: 150,
        expectations: [
          { name: 'valid_sex', passed: 118, failed: 2, action: 'drop' },
          { name: 'has_city', passed: 120, failed: 0, action: 'drop' },
        ],
      },
      { id: 'silver.workout_bpm', status: 'success', rows: 3000, started_at: at(720), duration_ms: 300 },
      { id: 'gold.workout_bpm_summary', status: 'error', started_at: at(1030), duration_ms: 60, error: 'Binder Error: column "state" not found' },
      { id: 'gold.gym_summary', status: 'success', rows: 7, started_at: at(1040), duration_ms: 35 },
    ],
    tests: [
      { id: 'test.unique_silver_users_user_id', node: 'silver.users', status: 'pass', failures: 0, duration_ms: 3 },
      { id: 'test.not_null_silver_users_user_id', node: 'silver.users', status: 'pass', failures: 0, duration_ms: 2 },
      { id: 'test.accepted_values_silver_user_profile_sex', node: 'silver.user_profile', status: 'fail', failures: 2, duration_ms: 4 },
      { id: 'test.not_null_silver_workout_bpm_heartrate', node: 'silver.workout_bpm', status: 'pass', failures: 0, duration_ms: 2 },
    ],
  };
  return { manifest, catalog, runResults };
}

/**
 * A synthetic project of `n` nodes: 8% sources, then bronze, silver and gold models reading 1-3
 * parents from earlier layers, 6 columns each with column lineage, and a run of every model.
 */
export function largeFixture(n: number, seed = 7): Fixture {
  let s = seed;
  const rnd = (): number => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const nSources = Math.max(1, Math.round(n * 0.08));
  const rest = n - nSources;
  const layers: [string, number][] = [
    ['bronze', Math.round(rest * 0.3)],
    ['silver', Math.round(rest * 0.4)],
  ];
  layers.push(['gold', rest - layers[0]![1] - layers[1]![1]]);
  const cols = ['id', 'user_id', 'event_time', 'amount', 'status', 'payload'];
  const sources: ManifestSource[] = [];
  const byLayer: string[][] = [[]];
  for (let i = 0; i < nSources; i++) {
    const sr = src(`src${i % 5}`, `feed_${i}`, `Landing feed ${i}.`, { dir: 'landing/stream', format: 'jsonl', files: `feed_${i}/*.jsonl` }, cols);
    sources.push(sr);
    byLayer[0]!.push(sr.id);
  }
  const nodes: ManifestNode[] = [];
  const lineage: Record<string, Record<string, { relation: string; column: string }[]>> = {};
  const parent_map: Record<string, string[]> = {};
  const results: NodeResult[] = [];
  let clock = 0;
  layers.forEach(([layer, count], li) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = `${layer}.${layer}_model_${String(i).padStart(4, '0')}`;
      const pool = li === 0 ? byLayer[0]! : rnd() < 0.85 ? byLayer[li]! : byLayer[Math.floor(rnd() * (li + 1))]!;
      const k = li === 0 ? 1 : 1 + Math.floor(rnd() * 3);
      const parents = [...new Set(Array.from({ length: k }, () => pool[Math.floor(rnd() * pool.length)]!))];
      const refs = parents.map((p) => (p.startsWith('source:') ? `{{ source('${p.slice(7).split('.')[0]}', '${p.split('.')[1]}') }}` : `{{ ref('${p.split('.')[1]}') }}`));
      const raw = `select p0.id, p0.user_id, p0.event_time, sum(p0.amount) as amount, max(p0.status) as status, any_value(p0.payload) as payload\nfrom ${refs
        .map((r, j) => `${r} p${j}`)
        .join('\njoin ')}\ngroup by all`;
      nodes.push({
        id,
        resource_type: 'model',
        name: id.split('.')[1]!,
        schema: layer,
        path: `models/${layer}/${id.split('.')[1]}.sql`,
        raw_sql: raw,
        compiled_sql: raw.replace(/\{\{[^}]*\}\}/g, (m) => `"${m.length}"."compiled"`),
        config: { materialized: li === 2 ? 'table' : 'incremental', schema: layer },
        description: `Synthetic ${layer} model ${i}.`,
        columns: Object.fromEntries(cols.map((c) => [c, col(c, `The ${c}.`)])),
        depends_on: { nodes: parents.filter((p) => !p.startsWith('source:')), sources: parents.filter((p) => p.startsWith('source:')), macros: [] },
        tests: [{ name: 'not_null', column: 'id', args: {}, config: {} }],
      });
      parent_map[id] = parents;
      lineage[id] = Object.fromEntries(cols.map((c) => [c, parents.slice(0, 2).map((p) => ({ relation: p, column: c }))]));
      const dur = 5 + Math.floor(rnd() * 200);
      results.push({ id, status: rnd() < 0.01 ? 'error' : 'success', rows: Math.floor(rnd() * 100000), started_at: new Date(Date.UTC(2024, 4, 1) + clock).toISOString(), duration_ms: dur });
      clock += Math.floor(dur / 2);
      ids.push(id);
    }
    byLayer.push(ids);
  });
  return {
    manifest: {
      metadata: { project: `synthetic_${n}`, lake_version: '0.1.0' },
      nodes: Object.fromEntries(nodes.map((x) => [x.id, x])),
      sources: Object.fromEntries(sources.map((x) => [x.id, x])),
      parent_map,
      column_lineage: lineage,
    },
    catalog: {
      nodes: Object.fromEntries(nodes.map((x) => [x.id, { columns: cols.map((c) => ({ name: c, type: c === 'amount' ? 'DOUBLE' : 'VARCHAR' })), rows: 1000 }])),
      sources: Object.fromEntries(sources.map((x, i) => [x.id, { files: 1 + (i % 9), rows: 5000 }])),
    },
    runResults: {
      run_id: 'synthetic',
      command: 'run',
      started_at: new Date(Date.UTC(2024, 4, 1)).toISOString(),
      elapsed_ms: clock + 300,
      status: 'success',
      results,
      tests: [],
    },
  };
}

type NodeResult = NonNullable<RunResults['results']>[number];

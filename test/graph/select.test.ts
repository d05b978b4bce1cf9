import { describe, expect, it } from 'vitest';
import { Dag, type DagNode } from '../../src/graph/dag.js';
import { select } from '../../src/graph/select.js';
import { LakeError } from '../../src/errors/index.js';

const source = (src: string, table: string): DagNode => ({
  id: `source:${src}.${table}`, kind: 'source', name: table, schema: src,
  path: 'models/bronze/sources.yml', tags: [], config: {},
});
const model = (id: string, tags: string[] = [], config: Record<string, unknown> = {}): DagNode => {
  const [schema, name] = id.split('.') as [string, string];
  return { id, kind: 'model', name, schema, path: `models/${schema}/${name}.sql`, tags, config };
};

// The wearables project, in small: sources -> bronze -> silver -> gold.
const dag = new Dag(
  [
    source('kafka', 'bpm'), source('kafka', 'devices'), source('crm', 'members'),
    { id: 'bronze.gyms', kind: 'seed', name: 'gyms', schema: 'bronze', path: 'seeds/gyms.csv', tags: ['reference'], config: {} },
    model('bronze.raw_bpm', ['bronze'], { materialized: 'incremental' }),
    model('silver.stg_bpm', [], { materialized: 'view' }),
    model('silver.stg_devices', [], { materialized: 'view' }),
    model('silver.workouts', ['nightly', 'core'], { materialized: 'incremental', incremental_strategy: 'merge' }),
    model('silver.users', [], { materialized: 'incremental', unique_key: ['user_id', 'email'], meta: { owner: 'ana' } }),
    model('gold.workout_bpm_summary', ['report'], { materialized: 'table' }),
    model('gold.gym_summary', ['report'], { materialized: 'table' }),
    model('gold.users', [], { materialized: 'view' }),
    model('silverish.odd', [], { materialized: 'view' }),
  ],
  [
    ['source:kafka.bpm', 'bronze.raw_bpm'],
    ['bronze.raw_bpm', 'silver.stg_bpm'],
    ['source:kafka.devices', 'silver.stg_devices'],
    ['silver.stg_bpm', 'silver.workouts'],
    ['silver.stg_devices', 'silver.workouts'],
    ['source:crm.members', 'silver.users'],
    ['silver.workouts', 'gold.workout_bpm_summary'],
    ['silver.users', 'gold.workout_bpm_summary'],
    ['bronze.gyms', 'gold.workout_bpm_summary'],
    ['silver.workouts', 'gold.gym_summary'],
    ['bronze.gyms', 'gold.gym_summary'],
    ['silver.users', 'gold.users'],
  ],
);

const sel = (...items: string[]): string[] => select(dag, { select: items });
const sorted = (ids: string[]): string[] => [...ids].sort();
const usageError = (fn: () => unknown): LakeError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LakeError);
    expect((e as LakeError).phase).toBe('usage');
    return e as LakeError;
  }
  throw new Error('expected a LakeError');
};

describe('select', () => {
  it('selects everything, in topological order, when nothing is asked for', () => {
    const all = dag.topoOrder();
    expect(all.length).toBe(13);
    expect(select(dag)).toEqual(all);
    expect(select(dag, { select: [] })).toEqual(all);
    expect(select(dag, { select: ['', '  '] })).toEqual(all);
  });

  it('returns the selection in topological order', () => {
    const got = sel('gold.gym_summary silver.stg_bpm bronze.raw_bpm silver.workouts');
    expect(got).toEqual(['bronze.raw_bpm', 'silver.stg_bpm', 'silver.workouts', 'gold.gym_summary']);
  });

  it('matches a bare name in every schema, and schema.name exactly', () => {
    expect(sel('workouts')).toEqual(['silver.workouts']);
    expect(sorted(sel('users'))).toEqual(['gold.users', 'silver.users']);
    expect(sel('silver.users')).toEqual(['silver.users']);
    expect(sel('name:gyms')).toEqual(['bronze.gyms']);
  });

  it('expands glob wildcards in names', () => {
    expect(sorted(sel('stg_*'))).toEqual(['silver.stg_bpm', 'silver.stg_devices']);
    expect(sorted(sel('gold.*_summary'))).toEqual(['gold.gym_summary', 'gold.workout_bpm_summary']);
    expect(sorted(sel('*.users'))).toEqual(['gold.users', 'silver.users']);
    expect(sel('stg_bp?')).toEqual(['silver.stg_bpm']);
  });

  it('adds all ancestors with +name and all descendants with name+', () => {
    expect(sorted(sel('+workouts'))).toEqual(sorted([
      'source:kafka.bpm', 'source:kafka.devices', 'bronze.raw_bpm', 'silver.stg_bpm', 'silver.stg_devices', 'silver.workouts',
    ]));
    expect(sel('workouts+')).toEqual(['silver.workouts', 'gold.gym_summary', 'gold.workout_bpm_summary']);
    expect(sel('+stg_bpm+')).toEqual([
      'source:kafka.bpm', 'bronze.raw_bpm', 'silver.stg_bpm', 'silver.workouts', 'gold.gym_summary', 'gold.workout_bpm_summary',
    ]);
  });

  it('limits the depth with N+name and name+N', () => {
    expect(sorted(sel('1+workouts'))).toEqual(['silver.stg_bpm', 'silver.stg_devices', 'silver.workouts']);
    expect(sorted(sel('2+workouts'))).toEqual(['bronze.raw_bpm', 'silver.stg_bpm', 'silver.stg_devices', 'silver.workouts', 'source:kafka.devices']);
    expect(sel('raw_bpm+1')).toEqual(['bronze.raw_bpm', 'silver.stg_bpm']);
    expect(sel('raw_bpm+2')).toEqual(['bronze.raw_bpm', 'silver.stg_bpm', 'silver.workouts']);
    expect(sel('1+stg_bpm+1')).toEqual(['bronze.raw_bpm', 'silver.stg_bpm', 'silver.workouts']);
    expect(sel('0+stg_bpm')).toEqual(['silver.stg_bpm']);
  });

  it('keeps a trailing number that is part of a name', () => {
    const d = new Dag([model('s.v2'), model('s.v2_next')], [['s.v2', 's.v2_next']]);
    expect(select(d, { select: ['v2'] })).toEqual(['s.v2']);
    expect(select(d, { select: ['v2+'] })).toEqual(['s.v2', 's.v2_next']);
  });

  it('with @name adds descendants and every ancestor of those descendants', () => {
    // silver.users feeds gold.workout_bpm_summary, which also reads workouts (and its upstream) and gyms.
    expect(sorted(sel('@silver.users'))).toEqual(sorted([
      'source:crm.members', 'silver.users', 'gold.users', 'gold.workout_bpm_summary',
      'silver.workouts', 'silver.stg_bpm', 'silver.stg_devices', 'bronze.raw_bpm',
      'source:kafka.bpm', 'source:kafka.devices', 'bronze.gyms',
    ]));
    expect(sel('@gold.users')).toEqual(['source:crm.members', 'silver.users', 'gold.users']);
  });

  it('selects by tag', () => {
    expect(sel('tag:report')).toEqual(['gold.gym_summary', 'gold.workout_bpm_summary']);
    expect(sel('tag:nightly')).toEqual(['silver.workouts']);
    expect(sorted(sel('tag:re*'))).toEqual(['bronze.gyms', 'gold.gym_summary', 'gold.workout_bpm_summary']);
  });

  it('selects by path prefix or exact file, never a sibling folder with a longer name', () => {
    expect(sorted(sel('path:models/silver'))).toEqual(['silver.stg_bpm', 'silver.stg_devices', 'silver.users', 'silver.workouts']);
    expect(sel('path:models/silver/')).toEqual(sel('path:models/silver'));
    expect(sel('path:./models/silverish')).toEqual(['silverish.odd']);
    expect(sel('path:models/silver/workouts.sql')).toEqual(['silver.workouts']);
    expect(sel('models/silver/workouts.sql')).toEqual(['silver.workouts']);
    expect(sel('seeds/gyms.csv')).toEqual(['bronze.gyms']);
    expect(sorted(sel('path:models/*/stg_*'))).toEqual(['silver.stg_bpm', 'silver.stg_devices']);
    // Sources live in the YAML that declares them.
    expect(sel('path:models/bronze')).toEqual(['source:crm.members', 'source:kafka.bpm', 'source:kafka.devices', 'bronze.raw_bpm']);
    // A bare name that is no model but a folder (dbt's fqn: `dbt run -s marts`): the models under it.
    expect(sorted(sel('silver'))).toEqual(['silver.stg_bpm', 'silver.stg_devices', 'silver.users', 'silver.workouts']);
    expect(sel('silverish')).toEqual(['silverish.odd']);
    expect(sel('seeds')).toEqual(['bronze.gyms']);
  });

  it('selects by any config key, matching array members', () => {
    expect(sel('config.materialized:incremental')).toEqual(['bronze.raw_bpm', 'silver.users', 'silver.workouts']);
    expect(sel('config.unique_key:email')).toEqual(['silver.users']);
    expect(sel('config.incremental_strategy:merge')).toEqual(['silver.workouts']);
    expect(sel('config.meta.owner:ana')).toEqual(['silver.users']);
    // A config value nobody uses is an empty selection, not a typo.
    expect(sel('config.materialized:external')).toEqual([]);
  });

  it('selects sources by source name or source.table', () => {
    expect(sel('source:kafka')).toEqual(['source:kafka.bpm', 'source:kafka.devices']);
    expect(sel('source:kafka.bpm')).toEqual(['source:kafka.bpm']);
    expect(sel('source:kafka.bpm+1')).toEqual(['source:kafka.bpm', 'bronze.raw_bpm']);
    expect(sel('source:*.members')).toEqual(['source:crm.members']);
  });

  it('selects by resource type', () => {
    expect(sel('resource_type:seed')).toEqual(['bronze.gyms']);
    expect(sel('resource_type:source')).toEqual(['source:crm.members', 'source:kafka.bpm', 'source:kafka.devices']);
    expect(sel('resource_type:model').length).toBe(9);
  });

  it('unions space-separated selectors and list items alike', () => {
    const one = sel('workouts tag:report');
    expect(one).toEqual(['silver.workouts', 'gold.gym_summary', 'gold.workout_bpm_summary']);
    expect(sel('workouts', 'tag:report')).toEqual(one);
    expect(sel('workouts workouts+')).toEqual(sel('workouts+'));
  });

  it('intersects comma-joined atoms', () => {
    expect(sel('silver.users+,tag:report')).toEqual(['gold.workout_bpm_summary']);
    expect(sel('path:models/silver,config.materialized:incremental')).toEqual(['silver.users', 'silver.workouts']);
    expect(sel('+gold.gym_summary,resource_type:source')).toEqual(['source:kafka.bpm', 'source:kafka.devices']);
    expect(sel('tag:report,tag:nightly')).toEqual([]);
    // Union of intersections.
    expect(sel('tag:report,+silver.users source:crm')).toEqual(['source:crm.members']);
  });

  it('removes --exclude from the selection, or from everything', () => {
    expect(select(dag, { select: ['workouts+'], exclude: ['tag:report'] })).toEqual(['silver.workouts']);
    expect(select(dag, { select: ['+workouts'], exclude: ['resource_type:source', 'path:models/bronze'] }))
      .toEqual(['silver.stg_devices', 'silver.stg_bpm', 'silver.workouts']);
    expect(select(dag, { exclude: ['path:models/gold path:models/silver* resource_type:source'] })).toEqual(['bronze.gyms', 'bronze.raw_bpm']);
    expect(select(dag, { select: ['tag:report'], exclude: ['gym_summary,tag:report'] })).toEqual(['gold.workout_bpm_summary']);
  });

  it('rejects an unknown name with the closest candidates', () => {
    const err = usageError(() => sel('silver.workuots'));
    expect(err.diagnostics).toEqual([expect.objectContaining({
      code: 'LAKE-G101',
      message: '--select silver.workuots: no model or seed is named silver.workuots',
      hint: 'did you mean silver.workouts?',
    })]);
    expect(usageError(() => sel('+workuots+')).diagnostics[0]!.hint).toBe('did you mean silver.workouts?');
    expect(usageError(() => sel('gold.user')).diagnostics[0]!.hint).toBe('did you mean gold.users?');
    // A source named without `source:`.
    expect(usageError(() => sel('kafka.bpm')).diagnostics[0]!.hint).toBe('did you mean source:kafka.bpm?');
    // Nothing close: no hint rather than a silly one.
    expect(usageError(() => sel('zzzzzzzzzz')).diagnostics[0]!.hint).toBeUndefined();
  });

  it('rejects unknown tags, paths, sources and globs that match nothing', () => {
    expect(usageError(() => sel('tag:nightyl')).diagnostics[0]).toMatchObject({ message: '--select tag:nightyl: no node has tag nightyl', hint: 'did you mean nightly?' });
    expect(usageError(() => sel('path:models/silvr')).diagnostics[0]).toMatchObject({ code: 'LAKE-G101', hint: expect.stringContaining('models/silver') });
    expect(usageError(() => sel('source:kafak')).diagnostics[0]).toMatchObject({ message: '--select source:kafak: no source is named kafak', hint: 'did you mean source:kafka?' });
    expect(usageError(() => sel('source:kafka.bmp')).diagnostics[0]!.hint).toBe('did you mean source:kafka.bpm?');
    expect(usageError(() => sel('stg_x*')).diagnostics[0]).toMatchObject({ message: '--select stg_x*: no model or seed is named stg_x*' });
  });

  it('rejects bad syntax, unknown methods and resource types', () => {
    expect(usageError(() => sel('tga:report')).diagnostics[0]).toMatchObject({ code: 'LAKE-G102', hint: expect.stringMatching(/^did you mean tag\?/) });
    expect(usageError(() => sel('resource_type:tests')).diagnostics[0]!.message).toBe('--select resource_type:tests: unknown resource type tests');
    expect(usageError(() => sel('@workouts+')).diagnostics[0]!.code).toBe('LAKE-G102');
    expect(usageError(() => sel('workouts,')).diagnostics[0]!.message).toBe('--select workouts,: empty selector');
    expect(usageError(() => sel('tag:')).diagnostics[0]!.code).toBe('LAKE-G102');
  });

  it("selects by file name (dbt's file: method, with or without the extension); test-only methods select no node", () => {
    expect(sel('file:workouts.sql')).toEqual(['silver.workouts']);
    expect(sel('file:workouts')).toEqual(['silver.workouts']);
    expect(sel('file:workouts*')).toEqual(['silver.workouts']);
    expect(sel('file:work*')).toEqual(['silver.workouts', 'gold.workout_bpm_summary']);
    expect(usageError(() => sel('file:workout')).diagnostics[0]).toMatchObject({ code: 'LAKE-G101', message: '--select file:workout: no node file is named workout' });
    // dbt's resource types that are no graph node, and the methods of tests: nothing here, no error.
    expect(sel('resource_type:test')).toEqual([]);
    expect(sel('resource_type:unit_test')).toEqual([]);
    expect(sel('test_type:unit')).toEqual([]);
    expect(sel('unit_test:my_test')).toEqual([]);
    expect(sel('test_name:unique workouts')).toEqual(['silver.workouts']);
  });

  it('takes a whole item that names a node with a space in its name as one selector (watch and micro-batches select by id)', () => {
    const spaced = new Dag([model('gold.rev copy'), model('gold.rev'), model('silver.orders')], [['silver.orders', 'gold.rev copy']]);
    expect(select(spaced, { select: ['gold.rev copy'] })).toEqual(['gold.rev copy']);
    expect(select(spaced, { select: ['rev copy'] })).toEqual(['gold.rev copy']);
    expect(select(spaced, { select: ['silver.orders', 'gold.rev copy'] })).toEqual(['silver.orders', 'gold.rev copy']);
    // Otherwise a space still separates selectors.
    expect(select(spaced, { select: ['gold.rev silver.orders'] }).sort()).toEqual(['gold.rev', 'silver.orders']);
  });

  it('reports every bad selector at once, in --select and --exclude', () => {
    const err = usageError(() => select(dag, { select: ['workuots tag:report'], exclude: ['gym_sumary'] }));
    expect(err.diagnostics.map((d) => d.message)).toEqual([
      '--select workuots: no model or seed is named workuots',
      '--exclude gym_sumary: no model or seed is named gym_sumary',
    ]);
    expect(err.diagnostics.map((d) => d.hint)).toEqual(['did you mean silver.workouts?', 'did you mean gold.gym_summary?']);
    expect(err.message).toContain('error LAKE-G101: --select workuots');
  });
});

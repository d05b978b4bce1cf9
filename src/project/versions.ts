/**
 * dbt's model versions (dbt 1.5+): a YAML model entry with `versions:` documents one model file per
 * version. Here each version becomes a patch of its own, keyed by the stem of the file it documents
 * (`defined_in`, else `<model>_v<v>`; the latest version may live in `<model>.sql`), with the
 * columns, tests, description and config dbt gives that version.
 */
import type { Diagnostic } from '../errors/index.js';
import type { ColumnDoc } from '../core/types.js';
import type { ModelPatch, VersionDecl } from './yaml-entries.js';

/** The patches of a model entry: itself when it has no versions, else one per version. */
export function expandVersions(p: ModelPatch): ModelPatch[] {
  if (!p.versions?.length) return [p];
  const latest = p.latestVersion ?? p.versions[p.versions.length - 1]!.v;
  return p.versions.map((d) => {
    const { versions: _versions, latestVersion: _latest, deprecationDate: _date, ...base } = p;
    const config: Record<string, unknown> = { ...p.config, ...d.config };
    if (isObject(p.config.meta) && isObject(d.config.meta)) config.meta = { ...p.config.meta, ...d.config.meta };
    if (d.constraints) config.constraints = d.constraints;
    return {
      ...base,
      name: d.definedIn ?? `${p.name}_v${d.v}`,
      line: d.line ?? p.line,
      description: d.description ?? p.description,
      config,
      columns: versionColumns(p.columns, d),
      // A version's own data_tests replace the model's (dbt's get_tests_for_version).
      tests: d.tests ?? p.tests,
      ...(d.deprecationDate ? { deprecationDate: d.deprecationDate } : {}),
      version: { model: p.name, v: d.v, latest },
    };
  });
}

/** The model's columns this version includes (dbt's include/exclude), then its own (replacing one of the same name). */
function versionColumns(model: readonly ColumnDoc[], d: VersionDecl): ColumnDoc[] {
  const own = new Set(d.columns.map((c) => c.name));
  const included = model.filter((c) => (d.include === '*' || d.include.includes(c.name)) && !d.exclude.includes(c.name) && !own.has(c.name));
  return [...included, ...d.columns];
}

/**
 * dbt's fallback for the latest version: without a `<model>_v<v>.sql` (or its `defined_in` file),
 * it is the unsuffixed `<model>.sql`. Re-keys such a patch under the model's name in `patches`.
 */
export function placeLatestVersions(patches: Map<string, ModelPatch>, stems: ReadonlySet<string>): void {
  for (const [key, p] of [...patches]) {
    const v = p.version;
    if (!v || stems.has(key) || v.v !== v.latest || !stems.has(v.model) || patches.has(v.model)) continue;
    patches.delete(key);
    patches.set(v.model, { ...p, name: v.model });
  }
}

/** The warning for a version whose model file is missing (dbt warns too, and leaves the version out). */
export function missingVersionFile(key: string, p: ModelPatch): Diagnostic {
  const v = p.version!;
  const latest = v.v === v.latest ? ` (the latest: ref('${v.model}') reads it)` : '';
  return {
    code: 'LAKE-P071', severity: 'warn',
    message: `version ${v.v} of model '${v.model}'${latest} has no model file: no models/**/${key}.sql${v.v === v.latest ? ` nor ${v.model}.sql` : ''}`,
    file: p.file, line: p.line,
    hint: `add ${key}.sql, or point the version at its file with defined_in: <file name without .sql>`,
  };
}

/** dbt's deprecation warning for a model (or a version) past its `deprecation_date`. */
export function pastDeprecation(name: string, date: string | undefined, file: string | undefined, line: number | undefined, now: Date): Diagnostic | undefined {
  if (!date || !(Date.parse(date) < now.getTime())) return undefined;
  return { code: 'LAKE-P072', severity: 'warn', message: `model ${name} has passed its deprecation date of ${date}`, ...(file ? { file, line } : {}), hint: 'disable or remove it, once nothing reads it' };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

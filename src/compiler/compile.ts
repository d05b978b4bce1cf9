/**
 * LoadedProject → CompiledProject: renders every model, merges `config()` calls into its config,
 * resolves refs (with "did you mean" diagnostics), inlines ephemeral models as CTEs and computes
 * checksums. Pure: never opens a database.
 */
import type { Diagnostic } from '../errors/index.js';
import { closest } from '../errors/index.js';
import type { CompiledNode, CompiledProject, LoadedProject, ModelConfig, ModelNode, NodeId, Relation } from '../core/types.js';
import { relationSql, quoteIdent, streamViewName } from '../core/types.js';
import { TemplateEngine, REF_PLACEHOLDER, THIS_PLACEHOLDER, type RenderResult } from '../template/engine.js';
import { locate } from '../template/errors.js';
import { mergeConfig, configProblems } from '../project/config.js';
import { checksum } from '../project/load.js';

export interface CompileOptions {
  /** is_incremental() per model (the executor knows which relations exist); default false. */
  readonly incremental?: (id: NodeId) => boolean;
  readonly runStartedAt?: Date;
}

interface Rendered {
  readonly node: ModelNode;
  readonly result: RenderResult;
  readonly config: ModelConfig;
  readonly relation: Relation;
}

/** Keeps the template engine and the name indexes so single models can be re-rendered cheaply. */
export class Compiler {
  readonly engine: TemplateEngine;
  private rendered = new Map<NodeId, Rendered>();
  private byName = new Map<string, NodeId[]>();
  private relations = new Map<NodeId, Relation>();
  private ephemeralSql = new Map<NodeId, string>();

  constructor(readonly project: LoadedProject, private readonly opts: CompileOptions = {}) {
    this.engine = new TemplateEngine(project, opts.runStartedAt);
  }

  compileAll(): CompiledProject {
    const diagnostics: Diagnostic[] = [...this.project.diagnostics, ...this.engine.macroDiagnostics];
    this.rendered.clear();
    for (const node of this.project.models.values()) {
      const r = this.renderNode(node, this.opts.incremental?.(node.id) ?? false);
      diagnostics.push(...r.result.diagnostics);
      for (const p of configProblems(r.config)) {
        diagnostics.push({ code: 'LAKE-C010', severity: 'error', message: `${node.id}: ${p.message}`, file: node.path, node: node.id, ...(locate(node.rawSql, /config\s*\(/) ?? { line: 1 }), hint: p.hint });
      }
      if (this.rendered.has(r.config.schema + '.' + node.name) && r.node !== node) {
        diagnostics.push({ code: 'LAKE-C011', severity: 'error', message: `two models resolve to ${r.config.schema}.${node.name}`, file: node.path, line: 1, hint: 'rename one of them or change its schema' });
      }
      this.rendered.set(`${r.config.schema}.${node.name}`, r);
    }
    this.buildIndexes();
    const nodes = new Map<NodeId, CompiledNode>();
    for (const [id, r] of this.rendered) {
      const c = this.finish(id, r, diagnostics);
      if (c) nodes.set(id, c);
    }
    return { project: this.project, nodes, diagnostics };
  }

  /** Re-render one model (e.g. with is_incremental() true) after compileAll(). */
  compileOne(id: NodeId, incremental: boolean): { node?: CompiledNode; diagnostics: Diagnostic[] } {
    const prev = this.rendered.get(id);
    if (!prev) return { diagnostics: [{ code: 'LAKE-C020', severity: 'error', message: `unknown model ${id}` }] };
    const r = this.renderNode(prev.node, incremental);
    const diagnostics: Diagnostic[] = [...r.result.diagnostics];
    const node = this.finish(id, { ...r, config: prev.config, relation: prev.relation }, diagnostics);
    return { node, diagnostics };
  }

  private renderNode(node: ModelNode, incremental: boolean): Rendered {
    const result = this.engine.render(node.rawSql, { incremental, materialized: node.config.materialized, file: node.path, node: node.id });
    const sqlConfig = { ...result.config };
    if (typeof sqlConfig.schema === 'string') sqlConfig.schema = this.project.customSchemaPrefix + sqlConfig.schema;
    const config = mergeConfig(node.config, sqlConfig);
    return { node, result, config, relation: { schema: config.schema, name: (config.alias as string | undefined) ?? node.name } };
  }

  private buildIndexes(): void {
    this.byName.clear();
    this.relations.clear();
    this.ephemeralSql.clear();
    const add = (name: string, id: NodeId) => {
      const list = this.byName.get(name) ?? [];
      list.push(id);
      this.byName.set(name, list);
    };
    for (const [id, r] of this.rendered) {
      add(r.node.name, id);
      this.relations.set(id, r.relation);
    }
    for (const s of this.project.seeds.values()) {
      add(s.name, s.id);
      this.relations.set(s.id, { schema: s.schema, name: s.name });
    }
  }

  /** Resolve `ref('x')` / `ref('schema.x')` to a node id, or a diagnostic. */
  resolveRef(name: string): { id?: NodeId; problem?: { message: string; hint: string } } {
    if (this.relations.has(name)) return { id: name };
    const ids = this.byName.get(name) ?? [];
    if (ids.length === 1) return { id: ids[0] };
    if (ids.length > 1) return { problem: { message: `ref('${name}') is ambiguous: ${ids.join(', ')}`, hint: `write ref('${ids[0]}') to choose one` } };
    const near = closest(name, [...this.relations.keys()]);
    return { problem: { message: `ref('${name}') matches no model or seed`, hint: near.length ? `did you mean ${near.join(' or ')}?` : 'check the model file name (a model is named after its file)' } };
  }

  /** Replace ref/this placeholders in an ad-hoc render (see renderAdhoc). */
  resolvePlaceholders(r: RenderResult, file: string, self?: CompiledNode): { sql: string; diagnostics: Diagnostic[]; refs: NodeId[] } {
    const diagnostics: Diagnostic[] = [...r.diagnostics];
    const refs: NodeId[] = [];
    const ids = r.refs.map((name) => {
      const res = this.resolveRef(name);
      if (res.problem) diagnostics.push({ code: 'LAKE-C001', severity: 'error', message: res.problem.message, file, hint: res.problem.hint });
      else if (!refs.includes(res.id!)) refs.push(res.id!);
      return res.id;
    });
    let sql = r.sql.replace(REF_PLACEHOLDER, (_m, _kind: string, n: string) => {
      const id = ids[Number(n)];
      return id ? relationSql(this.relations.get(id)!) : '"__unresolved_ref__"';
    });
    if (self) sql = sql.split(THIS_PLACEHOLDER).join(relationSql(self.relation));
    return { sql, diagnostics, refs };
  }

  /** The relation a model or seed id builds. */
  relationOf(id: NodeId): Relation | undefined {
    return this.relations.get(id);
  }

  private finish(id: NodeId, r: Rendered, diagnostics: Diagnostic[]): CompiledNode | undefined {
    const deps: NodeId[] = [];
    const refIds: (NodeId | undefined)[] = r.result.refs.map((name) => {
      const res = this.resolveRef(name);
      if (res.problem) {
        diagnostics.push({ code: 'LAKE-C001', severity: 'error', message: res.problem.message, file: r.node.path, node: id, ...locate(r.node.rawSql, new RegExp(`ref\\s*\\(\\s*['"]${name.split('.').pop()!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)), hint: res.problem.hint });
        return undefined;
      }
      if (res.id === id) {
        diagnostics.push({ code: 'LAKE-C003', severity: 'error', message: `${id} refs itself`, file: r.node.path, node: id, hint: 'use {{ this }} to read the model\'s own table' });
        return undefined;
      }
      if (!deps.includes(res.id!)) deps.push(res.id!);
      return res.id;
    });
    const streamReads: NodeId[] = [];
    let sql = r.result.sql.replace(REF_PLACEHOLDER, (_m, kind: string, n: string) => {
      const target = refIds[Number(n)];
      if (!target) return '"__unresolved_ref__"';
      const rel = this.relations.get(target)!;
      if (kind === 'stream') {
        if (!streamReads.includes(target)) streamReads.push(target);
        return quoteIdent(streamViewName(rel));
      }
      if (this.rendered.get(target)?.config.materialized === 'ephemeral') return quoteIdent(`__lake_eph__${rel.name}`);
      return relationSql(rel);
    });
    sql = sql.split(THIS_PLACEHOLDER).join(relationSql(r.relation));
    sql = this.inlineEphemerals(id, deps, sql, diagnostics, new Set([id]));
    const landingReads = r.result.sources.filter((s) => s.landing).map((s) => s.id);
    const sourceIds = r.result.sources.map((s) => s.id);
    return {
      id, node: r.node, config: r.config, relation: r.relation, sql: sql.trim().replace(/;\s*$/, ''),
      dependsOn: { nodes: deps, sources: sourceIds, macros: r.result.macros },
      landingReads, streamReads,
      checksum: checksum(r.node.rawSql, JSON.stringify(r.config)),
      renderedIncremental: r.result.usedIncremental && (this.opts.incremental?.(id) ?? false),
    };
  }

  /** Prepend `__lake_eph__x as (...)` CTEs for ephemeral refs; an ephemeral body carries its own nested ones. */
  private inlineEphemerals(id: NodeId, deps: readonly NodeId[], sql: string, diagnostics: Diagnostic[], seen: Set<NodeId>): string {
    const ctes: string[] = [];
    const visit = (dep: NodeId) => {
      const r = this.rendered.get(dep);
      if (!r || r.config.materialized !== 'ephemeral' || seen.has(dep)) return;
      seen.add(dep);
      let body = this.ephemeralSql.get(dep);
      if (!body) {
        body = this.finish(dep, r, diagnostics)?.sql ?? 'select 1';
        this.ephemeralSql.set(dep, body);
      }
      ctes.push(`${quoteIdent(`__lake_eph__${r.relation.name}`)} as (\n${body}\n)`);
    };
    for (const d of deps) visit(d);
    if (ctes.length === 0) return sql;
    const m = /^\s*with\s+(recursive\s+)?/i.exec(sql);
    if (m) return `with ${m[1] ?? ''}${ctes.join(',\n')},\n${sql.slice(m[0].length)}`;
    return `with ${ctes.join(',\n')}\n${sql}`;
  }
}

/** Compile the whole project (convenience over `new Compiler(project).compileAll()`). */
export function compileProject(project: LoadedProject, opts: CompileOptions = {}): CompiledProject {
  return new Compiler(project, opts).compileAll();
}

/**
 * Render an ad-hoc SQL template (hooks, data tests, singular tests) against a compiled project:
 * refs resolve to relations, `this` to `self` when given. Template problems come back as diagnostics.
 */
export function renderAdhoc(compiler: Compiler, text: string, file: string, self?: CompiledNode, extra?: Record<string, unknown>): { sql: string; diagnostics: Diagnostic[]; refs: NodeId[] } {
  const r = compiler.engine.render(text, { incremental: false, materialized: 'view', file, node: self?.id, extra });
  return compiler.resolvePlaceholders(r, file, self);
}

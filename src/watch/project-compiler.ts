/**
 * How the watch gets a compiled project after files change. The loop only needs "the session
 * after these files changed"; how much is re-read and re-rendered is this module's business.
 *
 * The default, IncrementalCompiler, keeps one Compiler for the session and patches a saved model
 * file into it (Compiler.updateModel: one file re-read and re-rendered, milliseconds). A change
 * to YAML, a macro, a seed, a singular test or project.yml can change any model, so those re-load
 * and recompile the whole project. A whole re-load reads every file as it is at that instant, so
 * it guards against files caught halfway through someone else's save (see `reload`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Compiler } from '../compiler/compile.js';
import type { LoadedProject, ModelNode } from '../core/types.js';
import { LakeError } from '../errors/index.js';
import { loadProject } from '../project/load.js';
import { Session, type SessionOptions } from '../app/session.js';
import type { FileChange } from './files.js';

/** Produces the compiled project the watch keeps in memory. */
export interface ProjectCompiler {
  /** The project as it is on disk now. Throws LakeError with every diagnostic when it does not compile. */
  load(): Session;
  /**
   * The project after `changes`, given the last session that compiled (undefined when none has
   * yet). Throws LakeError with every diagnostic when the result does not compile.
   */
  update(previous: Session | undefined, changes: readonly FileChange[]): Session;
}

/**
 * Re-reads and recompiles the whole project on every change (the first version of the watch;
 * kept for the benchmark's comparison and as a fallback).
 */
export class ReloadingCompiler implements ProjectCompiler {
  constructor(private readonly opts: SessionOptions) {}

  load(): Session {
    return Session.open(this.opts);
  }

  update(_previous: Session | undefined, _changes: readonly FileChange[]): Session {
    return Session.open(this.opts);
  }
}

/** A model's text mentions run_started_at: its render goes stale with the compiler's start time. */
const RUN_STARTED_AT = /\brun_started_at\b/;

/** How often a re-load is retried when a file vanishes between listing the folder and reading it. */
const LOAD_ATTEMPTS = 3;

/** Patches saved model files into one kept Compiler; re-loads everything for any other file. */
export class IncrementalCompiler implements ProjectCompiler {
  /** Mirrors the files on disk as last handed to `update` (undefined: the last re-load failed). */
  private compiler: Compiler | undefined;
  /**
   * The compiler cannot be patched any more and the next update re-loads: a model update was
   * refused (two files named alike), or loading itself reported errors (updateModel keeps the
   * load's diagnostics, so a fix made in a model file would never clear them).
   */
  private stale = false;
  /** The last session built, and whether the compiler has moved on from it. */
  private last: Session | undefined;
  private dirty = false;

  constructor(private readonly opts: SessionOptions) {}

  load(): Session {
    return this.reload(undefined, []);
  }

  update(previous: Session | undefined, changes: readonly FileChange[]): Session {
    const compiler = this.compiler;
    if (!compiler || this.stale || changes.some((c) => c.kind !== 'model')) return this.reload(previous, changes);
    // Nothing changed (a landing-only cycle): the session stands.
    if (changes.length === 0 && this.last && !this.dirty) return this.last;
    this.dirty = true;
    for (const c of changes) {
      const text = c.deleted ? undefined : (c.text ?? readText(path.join(compiler.project.root, c.path)));
      // run_started_at renders with the compiler's start time: re-load to give the save a fresh one.
      if (text !== undefined && RUN_STARTED_AT.test(text)) return this.reload(previous, changes);
      let u;
      try {
        u = compiler.updateModel(c.path, text);
      } catch (e) {
        // The compiler does not take this path as a model file (its folders differ from the
        // watch's idea of them): the full re-load decides.
        if (e instanceof LakeError) throw e;
        return this.reload(previous, changes);
      }
      if (!u.applied) {
        // Refused (the new id clashes with another file): the compiler kept the old model, so it no
        // longer mirrors the disk. Report the clash; the next change re-loads everything.
        this.stale = true;
        throw new LakeError('compile', u.diagnostics);
      }
    }
    return this.settle(compiler);
  }

  /** The session over `compiler` as it stands; throws LakeError when it does not compile. */
  private settle(compiler: Compiler): Session {
    const s = Session.fromCompiler(compiler);
    this.last = s;
    this.dirty = false;
    return s;
  }

  /**
   * Load and compile everything. Files are read one after the other while editors may be saving
   * some of them; a model file missing or empty now, that the watch was not told is deleted or
   * emptied (it is not among `changes`), is in the middle of a save — its own change comes next,
   * and decides. Until then it keeps the text it had, so a YAML edit saved during another file's
   * safe-write does not drop that file's relation.
   */
  private reload(previous: Session | undefined, changes: readonly FileChange[]): Session {
    const before = this.compiler?.project ?? previous?.project;
    this.compiler = undefined;
    this.last = undefined;
    this.stale = false;
    this.dirty = true;
    const project = loadSettled(this.opts);
    // Renders of unchanged models are reused from the last run, as Session.open does.
    const cacheDir = process.env.LAKE_RENDER_CACHE === '0' ? undefined : path.join(path.resolve(project.root, project.paths.target), '.lake');
    const compiler = new Compiler(project, { runStartedAt: new Date(), cacheDir });
    compiler.compileAll();
    if (before) restoreInFlux(compiler, before, changes);
    this.compiler = compiler;
    this.stale = project.diagnostics.some((d) => d.severity === 'error');
    return this.settle(compiler);
  }
}

/** loadProject, retried when a file disappears between the folder listing and its read. */
function loadSettled(opts: SessionOptions): LoadedProject {
  for (let attempt = 1; ; attempt++) {
    try {
      return loadProject(opts.projectDir, opts);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= LOAD_ATTEMPTS) throw e;
    }
  }
}

/** The text of a file, or undefined when it is gone. */
function readText(abs: string): string | undefined {
  try {
    return fs.readFileSync(abs, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Put back the previous text of model files a re-load caught missing or empty mid-save. */
function restoreInFlux(compiler: Compiler, before: LoadedProject, changes: readonly FileChange[]): void {
  const told = new Set(changes.filter((c) => c.kind === 'model').map((c) => c.path));
  const now = new Map<string, ModelNode>();
  for (const n of compiler.project.models.values()) now.set(n.path, n);
  for (const old of before.models.values()) {
    if (told.has(old.path) || old.rawSql === '') continue;
    const cur = now.get(old.path);
    if (cur && cur.rawSql !== '') continue;
    if (!cur) {
      // Gone from the load: in flux only if it is gone (or empty) on disk too. A file still there
      // left the project some other way (project.yml moved the folder, `enabled: false`).
      const st = fs.statSync(path.join(compiler.project.root, old.path), { throwIfNoEntry: false });
      if (st && st.size > 0) continue;
    }
    try {
      compiler.updateModel(old.path, old.rawSql);
    } catch {
      // No longer a model path of the project (project.yml moved the folder): it left for good.
    }
  }
}

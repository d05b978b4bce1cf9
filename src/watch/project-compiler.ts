/**
 * How the watch gets a compiled project after files change. The loop only needs "the session
 * after these files changed"; how much is re-read and re-rendered is this module's business, so
 * an incremental compiler (re-load and re-render one changed file) can replace the reloading one
 * without touching the loop.
 */
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
 * Re-reads and recompiles the whole project on every change. For the project sizes people edit
 * by hand (tens to a few hundred models) this costs milliseconds; it is the fallback until the
 * compiler can patch one file into a compiled project.
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

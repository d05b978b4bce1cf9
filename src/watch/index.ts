/** `lake watch`: the authoring loop (file watcher, recompile, rebuild of what changed). */
export { Watch, type WatchOptions, type CycleReport, type TestPlanner } from './loop.js';
export { IncrementalCompiler, ReloadingCompiler, type ProjectCompiler } from './project-compiler.js';
export { classify, type FileChange, type FileKind } from './files.js';
export { directlyAffected, removedRelations, fingerprint, type ProjectView, type Removed } from './plan.js';
export { LandingPoller, globToRegExp } from './landing.js';
export { sqlErrorDiagnostic } from './sql-error.js';
export { enginePosition, locateInRaw } from '../compiler/source-position.js';

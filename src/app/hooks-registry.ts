/**
 * Node hooks contributed by other modules (landing-zone ingestion before stream(), expectations
 * after). Kept as a registry so session.ts does not grow a list of every feature.
 */
import type { NodeHook } from '../executor/hooks.js';
import type { Session } from './session.js';

type HookFactory = (s: Session) => NodeHook;

export const extraHooks: { before: HookFactory[]; after: HookFactory[] } = { before: [], after: [] };

/**
 * DLT-style expectations applied while a model is written (warn / drop to quarantine / fail).
 * (Being written: issue 5.)
 */
import type { NodeHook } from '../executor/hooks.js';
import type { Session } from '../app/session.js';

export function expectationsHook(_session: Session): NodeHook {
  return { name: 'expectations', prepare: async () => undefined };
}

/** `lake docs generate|serve` and `lake lineage` (issue 6). */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

export function registerDocs(_program: Command, _ctx: () => CommandContext, _setCode: (n: Promise<number>) => void): void {}

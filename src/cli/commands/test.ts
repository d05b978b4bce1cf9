/** `lake test` and `lake build` (issue 5). */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';

export function registerTest(_program: Command, _ctx: () => CommandContext, _setCode: (n: Promise<number>) => void): void {}

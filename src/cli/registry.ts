/** Commands contributed by feature modules (test, build, watch, docs, lineage), registered in main. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export type RegisterCommand = (program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void) => void;

export const commandRegistry: RegisterCommand[] = [];

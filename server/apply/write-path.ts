import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import type { CommandOutcome } from './outcome.js';

/** Where the API sends writes: the member's Raft log (server/node/raft-node.ts). */
export interface WritePath {
  /** Resolves with the command's outcome once this member applied it. */
  submit(command: Command): Promise<CommandOutcome>;
  close(): Promise<void>;
}

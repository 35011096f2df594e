/** Builds histories for the checkers' unit tests: op(client, call, invoke, complete, outcome, result?, revision?). */
import type { Call, Op, Outcome, Result } from './history.js';

export interface HistoryBuilder {
  readonly ops: Op[];
  op(client: number, call: Call, invoke: number, complete: number, outcome: Outcome, result?: Result, revision?: number): void;
}

export function builder(): HistoryBuilder {
  const ops: Op[] = [];
  return {
    ops,
    op(client, call, invoke, complete, outcome, result, revision) {
      ops.push({
        id: ops.length,
        client,
        member: 'n1',
        call,
        invoke,
        complete,
        outcome,
        ...(result ? { result } : {}),
        ...(revision === undefined ? {} : { revision }),
      });
    },
  };
}

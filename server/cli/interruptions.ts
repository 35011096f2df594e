/** SIGINT/SIGTERM as an abort signal, for commands that hold something until interrupted. */
export interface Interruptions {
  readonly signal: AbortSignal;
  /** The shell's exit code for the signal received (130, 143), once one was. */
  readonly interrupted: number | undefined;
  /** Aborts for another reason (e.g. a lost session). */
  abort(): void;
}

export function interruptions(): Interruptions {
  const controller = new AbortController();
  let interrupted: number | undefined;
  const on = (code: number) => (): void => {
    interrupted ??= code;
    controller.abort();
  };
  const onInt = on(130);
  const onTerm = on(143);
  process.once('SIGINT', onInt).once('SIGTERM', onTerm);
  controller.signal.addEventListener('abort', () => process.off('SIGINT', onInt).off('SIGTERM', onTerm), { once: true });
  return {
    signal: controller.signal,
    get interrupted() {
      return interrupted;
    },
    abort: () => controller.abort(),
  };
}

/** Resolves when `signal` aborts. */
export function holdUntil(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

import { pino, type Logger } from 'pino';

/** Structured JSON logs on stderr, so stdout stays free for the CLI's own output. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'cairn' } }, pino.destination(2));
}

/** Reading passwords: from the terminal without echo, or from stdin when not interactive. */
import { InvalidArgumentError } from 'commander';
import { CliError } from './errors.js';

/**
 * Asks on the terminal without echoing what is typed. Refuses when stdin is not a
 * terminal, rather than read a password from a pipe the user did not mean for it.
 */
export function promptHidden(question: string, otherwise: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(new CliError(`a password is needed and there is no terminal to ask it on: ${otherwise}`));
  }
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let typed = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new CliError('interrupted'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Reads a password from stdin: everything up to the first line break. */
export async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw new CliError('no password on stdin');
  return password;
}

/** "false", "true" (and etcdctl's --interactive=false). */
export function parseBool(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('must be true or false.');
}

/** NAME:PASSWORD split at the first colon; the password undefined when there is none. */
export function splitUser(spec: string): { name: string; password: string | undefined } {
  const at = spec.indexOf(':');
  return at < 0 ? { name: spec, password: undefined } : { name: spec.slice(0, at), password: spec.slice(at + 1) };
}

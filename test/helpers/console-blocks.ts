/**
 * The ```console blocks of a Markdown file as shell sessions: each `$ ` line is a command
 * (a line ending in `\` continues it), and the lines up to the next command are its output.
 * Output lines may hold placeholders: `<name>` matches one word of letters, digits and
 * `_./:-` and binds `name` (a later command's `<name>` is replaced by it), `…` matches
 * anything on the line.
 */
export interface ConsoleCommand {
  /** 1-based line of the command in the file. */
  line: number;
  command: string;
  expected: string[];
}

export interface ConsoleBlock {
  line: number;
  commands: ConsoleCommand[];
}

export function consoleBlocks(markdown: string): ConsoleBlock[] {
  const lines = markdown.split('\n');
  const blocks: ConsoleBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```console') continue;
    const block: ConsoleBlock = { line: i + 1, commands: [] };
    for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) {
      const text = lines[i]!;
      if (text.startsWith('$ ')) {
        const line = i + 1;
        let command = text.slice(2);
        while (command.endsWith('\\') && i + 1 < lines.length) command = `${command.slice(0, -1)}\n${lines[++i]!}`;
        block.commands.push({ line, command, expected: [] });
      } else {
        const current = block.commands[block.commands.length - 1];
        if (current === undefined) throw new Error(`line ${i + 1}: output before any command in a console block`);
        current.expected.push(text);
      }
    }
    blocks.push(block);
  }
  return blocks;
}

const PLACEHOLDER = /<([a-z][a-z0-9_]*)>|…/g;

/** The expected line as a regex; placeholders become named groups. */
function lineRegex(expected: string): RegExp {
  let source = '';
  let last = 0;
  const seen = new Set<string>();
  for (const m of expected.matchAll(PLACEHOLDER)) {
    source += escape(expected.slice(last, m.index));
    const name = m[1];
    if (name === undefined) source += '.*';
    else if (seen.has(name)) source += `\\k<${name}>`;
    else {
      seen.add(name);
      source += `(?<${name}>[A-Za-z0-9_./:-]+)`;
    }
    last = m.index + m[0].length;
  }
  return new RegExp(`^${source}${escape(expected.slice(last))}$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compares a command's output with the expected lines. Returns undefined when they match
 * (adding the placeholders' values to `bound`), else a description of the first difference.
 */
export function matchOutput(expected: string[], actual: string, bound: Map<string, string>): string | undefined {
  const got = actual.endsWith('\n') ? actual.slice(0, -1).split('\n') : actual === '' ? [] : actual.split('\n');
  const found = new Map<string, string>();
  for (let i = 0; i < Math.max(expected.length, got.length); i++) {
    const want = expected[i];
    const line = got[i];
    if (want === undefined || line === undefined) {
      return `expected ${expected.length} lines, got ${got.length}:\n${actual}`;
    }
    const match = lineRegex(want).exec(line);
    if (match === null) return `line ${i + 1}: expected\n  ${want}\ngot\n  ${line}\nwhole output:\n${actual}`;
    for (const [name, value] of Object.entries(match.groups ?? {})) found.set(name, value);
  }
  for (const [name, value] of found) bound.set(name, value);
  return undefined;
}

/** The command with every bound placeholder replaced by its value. */
export function substitute(command: string, bound: Map<string, string>): string {
  return command.replace(/<([a-z][a-z0-9_]*)>/g, (whole, name: string) => bound.get(name) ?? whole);
}

/**
 * Rewrites Data-API-style named parameters (`:name`) to PostgreSQL positional ones (`$1`), for the drivers that
 * speak the Postgres protocol. Casts (`::uuid`), string literals, dollar-quoted bodies, quoted identifiers and
 * comments are left alone. A name used twice maps to one position.
 */

export interface PositionalStatement {
  readonly text: string;
  /** Parameter names in position order: `names[0]` is `$1`. */
  readonly names: readonly string[];
}

const identifierStart = /[A-Za-z_]/;
const identifierPart = /[A-Za-z0-9_]/;

/** End index (exclusive) of the quoted literal or identifier opening at `start`. */
function endOfQuoted(sql: string, start: number, quote: string): number {
  // E'...' strings allow backslash escapes.
  const backslashEscapes = quote === "'" && /[eE]/.test(sql[start - 1] ?? '');
  let i = start + 1;
  while (i < sql.length) {
    if (backslashEscapes && sql[i] === '\\') {
      i += 2;
      continue;
    }
    if (sql[i] === quote) {
      if (sql[i + 1] !== quote) return i + 1;
      i += 1; // a doubled quote is an escaped quote
    }
    i += 1;
  }
  return sql.length;
}

/** If a part of the statement that is not code (string, identifier, comment, dollar-quoted body) starts at `i`, its end. */
function endOfNonCode(sql: string, i: number): number | undefined {
  const ch = sql[i];
  const next = sql[i + 1];
  if (ch === "'" || ch === '"') return endOfQuoted(sql, i, ch);
  if (ch === '-' && next === '-') {
    const end = sql.indexOf('\n', i);
    return end === -1 ? sql.length : end;
  }
  if (ch === '/' && next === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end === -1 ? sql.length : end + 2;
  }
  if (ch === '$') {
    const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
    if (tag === undefined) return undefined;
    const end = sql.indexOf(tag, i + tag.length);
    return end === -1 ? sql.length : end + tag.length;
  }
  return undefined;
}

/**
 * Walks the statement, copying non-code parts verbatim and handing each code position to `onCode`, which returns
 * what to emit and how many characters it consumed.
 */
function walk(sql: string, onCode: (i: number) => { emit: string; consumed: number }): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const end = endOfNonCode(sql, i);
    if (end !== undefined) {
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    const { emit, consumed } = onCode(i);
    out += emit;
    i += consumed;
  }
  return out;
}

export function toPositional(sql: string): PositionalStatement {
  const names: string[] = [];
  const positions = new Map<string, number>();
  const text = walk(sql, (i) => {
    const ch = sql[i] as string;
    const next = sql[i + 1];
    if (ch === ':' && next === ':') return { emit: '::', consumed: 2 };
    if (ch !== ':' || next === undefined || !identifierStart.test(next)) return { emit: ch, consumed: 1 };
    let j = i + 1;
    while (j < sql.length && identifierPart.test(sql[j] as string)) j += 1;
    const name = sql.slice(i + 1, j);
    let position = positions.get(name);
    if (position === undefined) {
      names.push(name);
      position = names.length;
      positions.set(name, position);
    }
    return { emit: `$${position}`, consumed: j - i };
  });
  return { text, names };
}

/** Whether the text holds more than one statement: code after a `;` that is outside quotes and comments. */
export function hasMultipleStatements(sql: string): boolean {
  let sawTerminator = false;
  let multiple = false;
  walk(sql, (i) => {
    const ch = sql[i] as string;
    if (ch === ';') sawTerminator = true;
    else if (sawTerminator && !/\s/.test(ch)) multiple = true;
    return { emit: '', consumed: 1 };
  });
  return multiple;
}

/**
 * Statements prepared once on the embedded database (PGlite) and then run by name. PGlite's `query`
 * sends its statement unnamed, so PostgreSQL parses and plans it on every call (the inbox's first
 * screen: about a third of its statement's cost) in six exchanges with the WebAssembly backend; a
 * named statement is planned from PostgreSQL's plan cache and runs in one exchange (Bind, Execute,
 * Sync). Each call takes the same locks as `query`, so it never runs inside another caller's
 * transaction. Values are sent as `query` sends them: text from PGlite's serializer for each
 * parameter's type, which PostgreSQL reports once, when the statement is prepared.
 */
import type { PGlite } from '@electric-sql/pglite';

interface Prepared {
  name: string;
  parameterTypes: number[];
}

/** Statements prepared per database; any further one is not prepared (null: read it as usual). */
const MAX_PREPARED = 64;

type Message = { name: string; fields?: (string | null)[]; dataTypeIDs?: number[] };

export function preparedStatements(db: PGlite) {
  const statements = new Map<string, Promise<Prepared>>();

  const exchange = (...messages: Buffer[]) =>
    db._runExclusiveTransaction(() =>
      db._runExclusiveQuery(async () => (await db.execProtocol(Buffer.concat(messages), { syncToFs: false })).messages as unknown as Message[]),
    );

  async function prepare(sql: string, name: string): Promise<Prepared> {
    const messages = await exchange(parse(name, sql), describeStatement(name), SYNC);
    const description = messages.find((m) => m.name === 'parameterDescription');
    return { name, parameterTypes: description?.dataTypeIDs ?? [] };
  }

  /**
   * The first column of the first row of `sql` (a statement that answers one row), as text; or
   * undefined when no more statements can be prepared (run it as usual).
   */
  return async function firstValue(sql: string, values: unknown[]): Promise<string | null | undefined> {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= MAX_PREPARED) return undefined;
      statement = prepare(sql, `prepared-${statements.size}`);
      statements.set(sql, statement);
      // A statement that could not be prepared is tried again on its next call.
      statement.catch(() => statements.delete(sql));
    }
    const { name, parameterTypes } = await statement;
    const texts = values.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serialize = db.serializers[parameterTypes[i]!];
      return serialize ? serialize(value) : String(value);
    });
    const messages = await exchange(bind(name, texts), EXECUTE, SYNC);
    return messages.find((m) => m.name === 'dataRow')?.fields?.[0] ?? null;
  }
}

/** A frontend message: its type byte, then its length (itself included) and body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cString = (text: string) => Buffer.from(`${text}\0`, 'utf8');
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** Parse: the named statement, its parameter types left to PostgreSQL. */
const parse = (name: string, sql: string) => message('P', Buffer.concat([cString(name), cString(sql), int16(0)]));
const describeStatement = (name: string) => message('D', Buffer.concat([Buffer.from('S', 'latin1'), cString(name)]));
/** Bind: the unnamed portal, every parameter and result column as text. */
function bind(name: string, values: (string | null)[]): Buffer {
  const parts = [cString(''), cString(name), int16(0), int16(values.length)];
  for (const value of values) {
    if (value === null) parts.push(int32(-1));
    else {
      const bytes = Buffer.from(value, 'utf8');
      parts.push(int32(bytes.length), bytes);
    }
  }
  parts.push(int16(0));
  return message('B', Buffer.concat(parts));
}
const EXECUTE = message('E', Buffer.concat([cString(''), int32(0)]));
const SYNC = message('S', Buffer.alloc(0));

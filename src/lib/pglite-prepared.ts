/**
 * Statements with parameters on the embedded database, prepared once by name. PGlite's `query`
 * parses and plans every statement anew and speaks to the WASM backend six times per statement
 * (parse, describe, bind, describe, execute, sync): for the webhook path's statements (the claim,
 * the inbox's CTEs) that was 1–2 ms of CPU each, more than running them. A prepared statement is
 * bound and executed in one call to the backend (about 0.4 ms). Only the first MAX_STATEMENTS texts
 * are prepared (their text is fixed per call site); any further one runs through `query` as before.
 * It takes PGlite's own locks as `query` does: outside a transaction it waits for one in progress.
 */
import { parse, protocol, type PGlite, type Results } from '@electric-sql/pglite';

const MAX_STATEMENTS = 128;
/** SQLSTATE of a prepared statement the backend no longer has. */
const UNDEFINED_PREPARED_STATEMENT = '26000';

interface Prepared {
  name: string;
  /** Type OIDs of the parameters, to serialize each value as `query` does. */
  paramTypes: number[];
}

/** One protocol buffer of several messages: the backend runs them in order, up to the Sync. */
function joined(parts: Uint8Array[]): Uint8Array {
  const buffer = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    buffer.set(part, offset);
    offset += part.length;
  }
  return buffer;
}

export class PglitePrepared {
  private readonly statements = new Map<string, Prepared>();
  private prepares = 0;

  constructor(private readonly db: PGlite) {}

  /**
   * Runs `text` with `values`, prepared; null when it is not to be prepared (the caller runs it as
   * usual). `inTransaction`: called inside `db.transaction`, which already holds the transaction lock.
   */
  run<T>(text: string, values: unknown[], options: { parsers: Record<number, (text: string) => unknown> }, inTransaction: boolean): Promise<Results<T>> | null {
    if (values.length === 0 || (!this.statements.has(text) && this.statements.size >= MAX_STATEMENTS)) return null;
    const exclusive = () => this.db._runExclusiveQuery(() => this.execute<T>(text, values, options, inTransaction));
    return inTransaction ? exclusive() : this.db._runExclusiveTransaction(exclusive);
  }

  private async prepare(text: string): Promise<Prepared> {
    const known = this.statements.get(text);
    if (known) return known;
    const name = `plain_${this.prepares++}`;
    const { serialize } = protocol;
    const described = await this.db.execProtocolStream(joined([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]), { syncToFs: false });
    const prepared = { name, paramTypes: parse.parseDescribeStatementResults(described) };
    this.statements.set(text, prepared);
    return prepared;
  }

  private async execute<T>(text: string, values: unknown[], options: { parsers: Record<number, (text: string) => unknown> }, inTransaction: boolean, again = false): Promise<Results<T>> {
    const { name, paramTypes } = await this.prepare(text);
    const serialized = values.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = this.db.serializers[paramTypes[i]!];
      return serializer ? serializer(value) : String(value);
    });
    const { serialize } = protocol;
    let messages;
    try {
      messages = await this.db.execProtocolStream(
        joined([serialize.bind({ statement: name, values: serialized }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]),
        { syncToFs: false },
      );
    } catch (error) {
      // Gone from the backend (e.g. prepared in a transaction that rolled back): prepared anew, once.
      if (!again && (error as { code?: string }).code === UNDEFINED_PREPARED_STATEMENT) {
        this.statements.delete(text);
        return this.execute(text, values, options, inTransaction, true);
      }
      throw error;
    }
    if (!inTransaction) await this.db.syncToFs();
    return parse.parseResults(messages, this.parsersWith(options.parsers))[0] as Results<T>;
  }

  private readonly merged = new WeakMap<object, Record<number, (text: string) => unknown>>();
  /** PGlite's parsers with the caller's over them, merged once (parseResults merges them on every call). */
  private parsersWith(own: Record<number, (text: string) => unknown>) {
    let parsers = this.merged.get(own);
    if (!parsers) this.merged.set(own, (parsers = { ...this.db.parsers, ...own }));
    return parsers;
  }
}

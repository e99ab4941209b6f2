/**
 * Prisma's known request errors in the contract's codes: a missing record is NOT_FOUND, a unique
 * violation is BAD_USER_INPUT naming the field, a missing referenced row is NOT_FOUND of that thing,
 * a value the database cannot take (P2007: a forged cursor decoding to text where an id belongs;
 * every other input is checked before it gets here) is BAD_USER_INPUT. Anything else is not an
 * expected failure and stays masked.
 */
import { Prisma } from '../generated/prisma/client.ts';
import { BadUserInputError, DomainError, NotFoundError } from './errors.ts';

/** Models whose public name is not their model name split into words. */
const PUBLIC_NAMES: Record<string, string> = { WhatsAppSession: 'Session', ApiToken: 'API token' };

/** "BulkSendJob" → "Bulk send job". */
function words(camel: string): string {
  const spaced = camel.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function publicName(model: string): string {
  return PUBLIC_NAMES[model] ?? words(model);
}

/**
 * The constrained columns. Adapters differ: PGlite's names the fields, node-postgres's only the
 * constraint (`<table>_<col>_<col>_key` / `_fkey`, Prisma's naming); older engines set `target`.
 */
function constrainedFields(meta: Record<string, unknown> | undefined): string[] {
  const target = meta?.target;
  if (Array.isArray(target)) return target.map(String);
  if (typeof target === 'string') return [target];
  const cause = (meta?.driverAdapterError as { cause?: { constraint?: { fields?: string[]; index?: string }; table?: string } } | undefined)?.cause;
  const constraint = cause?.constraint;
  if (constraint?.fields?.length) return constraint.fields.map((f) => f.replace(/^"|"$/g, ''));
  if (constraint?.index) {
    const name = constraint.index.replace(/_(key|fkey|pkey)$/, '');
    if (cause?.table && name.startsWith(`${cause.table}_`)) return name.slice(cause.table.length + 1).split('_');
    // Without the table, keep the camelCase parts: our tables are snake_case, our columns camelCase.
    const parts = name.split('_');
    const camel = parts.filter((p) => /[A-Z]/.test(p));
    return camel.length ? camel : parts.slice(-1);
  }
  const fieldName = meta?.field_name;
  return typeof fieldName === 'string' ? [fieldName] : [];
}

/** The contract error for a Prisma error, or null when it is not one we expect. */
export function fromPrismaError(error: unknown): DomainError | null {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return null;
  const meta = error.meta as Record<string, unknown> | undefined;
  const model = typeof meta?.modelName === 'string' ? meta.modelName : null;
  switch (error.code) {
    case 'P2025':
      return new NotFoundError(model ? publicName(model) : 'Record');
    case 'P2002': {
      const fields = constrainedFields(meta);
      // Of a compound key, the columns that scope it (the session) are not what the caller got wrong.
      const named = fields.length > 1 ? fields.filter((f) => f !== 'sessionId') : fields;
      const bad = Object.fromEntries((named.length ? named : ['input']).map((f) => [f, 'is already taken']));
      return new BadUserInputError(bad);
    }
    case 'P2003': {
      const [field] = constrainedFields(meta);
      return new NotFoundError(field ? publicName(field.replace(/Id$/, '').replace(/^./, (c) => c.toUpperCase())) : 'Referenced record');
    }
    case 'P2007':
      return new BadUserInputError({ input: 'holds a value that is not valid here (a cursor or id that is not one of ours?)' });
    default:
      return null;
  }
}

/** A unique constraint refused the write (P2002): for callers that resolve the race themselves. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

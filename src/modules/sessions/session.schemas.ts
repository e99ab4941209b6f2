import { z } from 'zod';
import { E164_MESSAGE, E164_PATTERN, normalizePhone } from '../../lib/phone-number.ts';

/** E.164 after removing the spaces, dashes, dots and brackets people type. */
export const E164 = z
  .string()
  .transform(normalizePhone)
  .pipe(z.string().regex(E164_PATTERN, E164_MESSAGE));

export const SessionName = z
  .string()
  .trim()
  .min(1, 'must not be blank')
  .max(100, 'must be at most 100 characters');

export const CreateSessionInput = z.object({
  name: SessionName,
  phoneNumber: E164,
  accountProtection: z.boolean().default(true),
  logMessages: z.boolean().default(true),
  autoReadMessages: z.boolean().default(false),
  autoRejectCalls: z.boolean().default(false),
});
export type CreateSessionInput = z.infer<typeof CreateSessionInput>;

export const UpdateSessionInput = z.object({
  name: SessionName.optional(),
  accountProtection: z.boolean().optional(),
  logMessages: z.boolean().optional(),
  autoReadMessages: z.boolean().optional(),
  autoRejectCalls: z.boolean().optional(),
});
export type UpdateSessionInput = z.infer<typeof UpdateSessionInput>;

/** Drops GraphQL's explicit nulls: an omitted or null field means "leave as it is". */
export function withoutNulls<T extends Record<string, unknown>>(input: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined)) as never;
}

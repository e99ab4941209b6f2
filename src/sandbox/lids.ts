/**
 * WhatsApp's hidden user ids (`<digits>@lid`): one per person, whatever session sees them. Derived
 * from the phone number by a hash, so a contact keeps its lid across messages, sessions and
 * sandboxes; remembered, so `pn-from-lid` answers for every lid the sandbox has shown.
 */
import { createHash } from 'node:crypto';

const LID_SPAN = 9n * 10n ** 14n;
const LID_FLOOR = 10n ** 14n;

export function createLidDirectory() {
  const phoneByLid = new Map<string, string>();
  return {
    /** The lid of a phone number (digits only). */
    lidOf(phoneDigits: string): string {
      const hash = BigInt('0x' + createHash('sha256').update(`lid:${phoneDigits}`).digest('hex').slice(0, 16));
      const lid = `${(hash % LID_SPAN) + LID_FLOOR}@lid`;
      phoneByLid.set(lid, phoneDigits);
      return lid;
    },
    /** The phone number (digits) behind a lid, or null for a lid never shown. */
    phoneOf(lid: string): string | null {
      return phoneByLid.get(lid) ?? null;
    },
  };
}

export type LidDirectory = ReturnType<typeof createLidDirectory>;

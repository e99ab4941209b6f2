/**
 * Which numbers are on WhatsApp. Every well-formed number is, unless the control endpoint
 * `not-on-whatsapp` said otherwise: `/on-whatsapp` then answers `exists: false`, and a send to it is
 * accepted (`in_progress`) and fails afterwards ("invalid WhatsApp number"), as the provider does.
 */
const digitsOf = (phoneOrJid: string) => phoneOrJid.split('@')[0]!.split(':')[0]!.replace(/[^\d]/g, '');

export function createUserDirectory() {
  const absent = new Set<string>();
  return {
    /** Numbers (E.164, digits or JIDs) that are not on WhatsApp from now on. */
    markAbsent(numbers: string[]) {
      for (const n of numbers) absent.add(digitsOf(n));
    },
    exists(phoneOrJid: string): boolean {
      if (phoneOrJid.includes('@') && !phoneOrJid.endsWith('@s.whatsapp.net')) return true;
      const digits = digitsOf(phoneOrJid);
      return /^\d{8,15}$/.test(digits) && !absent.has(digits);
    },
  };
}

export type UserDirectory = ReturnType<typeof createUserDirectory>;

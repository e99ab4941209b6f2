/**
 * A bulk send's rules that need no library: the template's placeholders (`{{name}}`,
 * `{{<variable>}}`) and the limits. The server's schema and the console's own check of CSV rows
 * before sending use these same definitions.
 */
export const PLACEHOLDER = /\{\{\s*([\w.-]+)\s*\}\}/g;

/** The placeholders a template uses. */
export function placeholdersOf(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** Longest recipient name the API takes. */
export const MAX_RECIPIENT_NAME = 255;

/** Recipients one job takes. */
export const MAX_RECIPIENTS = 10_000;

/** The template with each placeholder replaced by its value (blank where there is none). */
export function fillTemplate(template: string, valueOf: (key: string) => string | undefined): string {
  return template.replace(PLACEHOLDER, (_, key: string) => valueOf(key) ?? '');
}

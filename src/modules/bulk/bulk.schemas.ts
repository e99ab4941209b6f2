/** Bulk send inputs: up to 10,000 recipients, each validated, and a template filled per recipient. */
import { z } from 'zod';
import { E164 } from '../sessions/session.schemas.ts';
import { Document, Media } from '../outbox/outbox.schemas.ts';
import { fillTemplate, MAX_RECIPIENT_NAME, MAX_RECIPIENTS, placeholdersOf } from './bulk.rules.ts';

/** Bad rows named one by one in `extensions.fields`; beyond this, a count. */
const MAX_NAMED_ROWS = 100;

const Recipient = z.object({
  phone: E164,
  name: z.string().trim().max(MAX_RECIPIENT_NAME, `must be at most ${MAX_RECIPIENT_NAME} characters`).nullish(),
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), 'must be an object of text, number or boolean values').nullish(),
});

export const StartBulkSendInput = z.object({
  sessionId: z.string(),
  template: z.string().trim().min(1, 'must not be blank').max(4096, 'must be at most 4096 characters'),
  recipients: z.array(Recipient).min(1, 'must name at least one recipient').max(MAX_RECIPIENTS, `must have at most ${MAX_RECIPIENTS} recipients`),
  image: Media.nullish(),
  document: Document.nullish(),
});
export type StartBulkSendInput = z.infer<typeof StartBulkSendInput>;
export type BulkRecipient = z.infer<typeof Recipient>;

function valueOf(recipient: BulkRecipient, key: string): string | undefined {
  const value = recipient.variables?.[key] ?? (key === 'name' ? recipient.name : undefined);
  return value === undefined || value === null ? undefined : String(value);
}

/** The template filled in for one recipient (every placeholder has a value: checked first). */
export function render(template: string, recipient: BulkRecipient): string {
  return fillTemplate(template, (key) => valueOf(recipient, key));
}

type Issue = { path: PropertyKey[]; message: string };

/** What per-field checks cannot see: one attachment at most, and a value for every placeholder. */
export function bulkIssues(input: StartBulkSendInput): Issue[] {
  const issues: Issue[] = [];
  if (input.image && input.document) {
    issues.push({ path: ['image'], message: 'give an image or a document, not both' }, { path: ['document'], message: 'give an image or a document, not both' });
  }
  const keys = placeholdersOf(input.template);
  input.recipients.forEach((r, i) => {
    const missing = keys.filter((k) => valueOf(r, k) === undefined);
    if (missing.length) issues.push({ path: ['recipients', i, missing.includes('name') && !r.variables ? 'name' : 'variables'], message: `has no value for ${missing.map((k) => `{{${k}}}`).join(', ')} used by the template` });
  });
  return issues;
}

/** Issues as `extensions.fields`, naming at most MAX_NAMED_ROWS rows and counting the rest. */
export function boundedFields(issues: readonly { path: readonly PropertyKey[]; message: string }[]): Record<string, string> {
  const fields: Record<string, string> = {};
  const rows = new Set<string>();
  const unnamed = new Set<string>();
  for (const issue of issues) {
    const key = issue.path.map(String).join('.') || 'input';
    const row = issue.path[0] === 'recipients' && typeof issue.path[1] === 'number' ? String(issue.path[1]) : null;
    if (row !== null && !rows.has(row) && rows.size >= MAX_NAMED_ROWS) {
      unnamed.add(row);
      continue;
    }
    if (row !== null) rows.add(row);
    fields[key] ??= issue.message;
  }
  if (unnamed.size) fields.recipients = `${rows.size + unnamed.size} rows are invalid; the first ${MAX_NAMED_ROWS} are named`;
  return fields;
}

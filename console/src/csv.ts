/**
 * A bulk send's recipients from CSV text (phone,name; a header line optional; double-quoted fields
 * may hold commas, quotes as "" and line breaks), each row checked with the server's own rules
 * before anything is sent.
 */
import { E164_MESSAGE, toE164 } from '../../src/lib/phone-number.ts';
import { fillTemplate, MAX_RECIPIENT_NAME, MAX_RECIPIENTS, placeholdersOf } from '../../src/modules/bulk/bulk.rules.ts';

export interface CsvRow {
  /** The line it starts on, from 1, as an editor counts. */
  line: number;
  fields: string[];
}

export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const endRow = () => {
    fields.push(field);
    if (fields.some((f) => f.trim() !== '')) rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else field += c;
  }
  endRow();
  return rows;
}

export interface Recipient {
  phone: string;
  name: string | null;
  variables: Record<string, string> | null;
}

export interface RowProblem {
  line: number;
  /** What the row says, to find it. */
  text: string;
  reason: string;
}

export interface Recipients {
  recipients: Recipient[];
  /** The line of each recipient, by its index (to place the server's `recipients.3.phone`). */
  lines: number[];
  problems: RowProblem[];
  /** Phones given more than once: sent once. */
  repeated: number;
  header: string[] | null;
}

const PHONE_COLUMNS = ['phone', 'phone number', 'phonenumber', 'number', 'to'];

/** A first line with no digit in its first field is a header naming the columns. */
function headerOf(row: CsvRow | undefined): string[] | null {
  if (!row || /\d/.test(row.fields[0] ?? '')) return null;
  return row.fields.map((f) => f.trim().toLowerCase());
}

export function readRecipients(text: string, template: string): Recipients {
  const rows = parseCsv(text);
  const header = headerOf(rows[0]);
  const body = header ? rows.slice(1) : rows;
  const phoneAt = header ? header.findIndex((h) => PHONE_COLUMNS.includes(h)) : 0;
  const nameAt = header ? header.indexOf('name') : 1;
  const variableColumns = header ? header.map((h, i) => [h, i] as const).filter(([h, i]) => h && i !== phoneAt && i !== nameAt) : [];
  const keys = placeholdersOf(template);
  const result: Recipients = { recipients: [], lines: [], problems: [], repeated: 0, header };
  if (header && phoneAt < 0) {
    result.problems.push({ line: rows[0]!.line, text: rows[0]!.fields.join(','), reason: 'the header has no phone column' });
    return result;
  }
  const seen = new Set<string>();
  for (const row of body) {
    const reasons: string[] = [];
    const cell = (i: number) => (i >= 0 ? (row.fields[i] ?? '').trim() : '');
    if (!header && row.fields.length > 2) reasons.push(`has ${row.fields.length} fields, not phone,name: put a name holding a comma in double quotes`);
    const phone = toE164(cell(phoneAt));
    if (!phone) reasons.push(`phone ${E164_MESSAGE}`);
    const name = cell(nameAt) || null;
    if (name && name.length > MAX_RECIPIENT_NAME) reasons.push(`name must be at most ${MAX_RECIPIENT_NAME} characters`);
    const variables = variableColumns.length ? Object.fromEntries(variableColumns.map(([h, i]) => [h, cell(i)]).filter(([, v]) => v !== '')) : null;
    const missing = keys.filter((key) => !(variables?.[key] ?? (key === 'name' ? name : null)));
    if (missing.length) reasons.push(`has no value for ${missing.map((k) => `{{${k}}}`).join(', ')} used by the template`);
    if (reasons.length || !phone) {
      result.problems.push({ line: row.line, text: row.fields.join(','), reason: reasons.join('; ') });
      continue;
    }
    if (seen.has(phone)) result.repeated++;
    seen.add(phone);
    result.recipients.push({ phone, name, variables: variables && Object.keys(variables).length ? variables : null });
    result.lines.push(row.line);
  }
  if (result.recipients.length + result.problems.length > MAX_RECIPIENTS) {
    result.problems.unshift({ line: body[MAX_RECIPIENTS]?.line ?? 1, text: '', reason: `a bulk send takes at most ${MAX_RECIPIENTS} recipients` });
  }
  return result;
}

/** The template as one recipient will read it (as the server fills it). */
export function preview(template: string, recipient: Recipient): string {
  return fillTemplate(template, (key) => recipient.variables?.[key] ?? (key === 'name' ? (recipient.name ?? undefined) : undefined));
}

/** Laravel-style validation of API bodies: 422 `{ success: false, message, errors: { field: [text] } }`. */
import { HttpError } from './http.ts';
import { BOOLEAN_SETTINGS } from './state.ts';
import type { ErrorWording } from './wording.ts';

export type FieldErrors = Record<string, string[]>;

export function validationError(wording: ErrorWording, errors: FieldErrors): HttpError {
  return new HttpError(422, { success: false, message: wording.validationFailed, errors });
}

export function throwIfAny(wording: ErrorWording, errors: FieldErrors) {
  if (Object.keys(errors).length) throw validationError(wording, errors);
}

export function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const label = (field: string) => field.replace(/_/g, ' ');
const missing = (value: unknown) => value === undefined || value === null || value === '';

/** A create (`creating`) or update body of `/whatsapp-sessions`. */
export function validateSessionBody(wording: ErrorWording, body: Record<string, unknown>, creating: boolean, phoneTaken: (phone: string) => boolean) {
  const errors: FieldErrors = {};
  if (creating) {
    for (const field of ['name', 'phone_number', 'account_protection', 'log_messages']) if (missing(body[field])) errors[field] = [wording.required(label(field))];
  }
  if (body.name !== undefined && (typeof body.name !== 'string' || body.name.length > 255)) errors.name = [wording.tooLong('name', 255)];
  if (body.phone_number !== undefined && (typeof body.phone_number !== 'string' || !/^\+?[1-9]\d{6,14}$/.test(body.phone_number))) {
    errors.phone_number = [wording.invalidFormat('phone number')];
  }
  for (const field of BOOLEAN_SETTINGS) {
    if (body[field] !== undefined && typeof body[field] !== 'boolean') errors[field] = [wording.notBoolean(label(field))];
  }
  if (body.webhook_url !== undefined && body.webhook_url !== null && !isHttpUrl(body.webhook_url)) errors.webhook_url = [wording.notUrl('webhook url')];
  if (body.webhook_events !== undefined && body.webhook_events !== null && (!Array.isArray(body.webhook_events) || body.webhook_events.some((e) => typeof e !== 'string'))) {
    errors.webhook_events = [wording.notArray('webhook events')];
  }
  if (typeof body.phone_number === 'string' && body.phone_number && phoneTaken(body.phone_number)) errors.phone_number = [wording.taken('phone number')];
  throwIfAny(wording, errors);
}

const MEDIA_URL_FIELDS = ['imageUrl', 'videoUrl', 'documentUrl', 'audioUrl', 'stickerUrl'] as const;
const CONTENT_FIELDS = [...MEDIA_URL_FIELDS, 'contact', 'location', 'poll'] as const;

/** A recipient as the provider accepts it: E.164 or digits, or a JID. */
export function checkRecipient(wording: ErrorWording, to: unknown, errors: FieldErrors) {
  if (typeof to !== 'string' || !to.trim()) errors.to = [wording.required('to')];
  else if (!to.includes('@') && !/^\+?\d{6,15}$/.test(to)) errors.to = [wording.invalidFormat('to')];
}

/** A `/send-message` body: one content kind, its fields well formed. */
export function validateSend(wording: ErrorWording, body: Record<string, unknown>) {
  const errors: FieldErrors = {};
  checkRecipient(wording, body.to, errors);
  const content = CONTENT_FIELDS.filter((f) => body[f] !== undefined && body[f] !== null);
  if (content.length === 0 && (typeof body.text !== 'string' || !body.text)) errors.text = [wording.requiredWithoutMedia('text')];
  if (content.length > 1) errors[content[1]!] = [wording.onlyOneOf(content)];
  for (const f of MEDIA_URL_FIELDS) {
    if (body[f] !== undefined && !isHttpUrl(body[f])) errors[f] = [wording.notUrl(f)];
  }
  const contact = body.contact as Record<string, unknown> | undefined;
  if (contact !== undefined && (typeof contact?.name !== 'string' || typeof contact?.phone !== 'string')) errors.contact = [wording.contactShape('contact')];
  const location = body.location as Record<string, unknown> | undefined;
  if (location !== undefined) {
    const lat = Number(location?.latitude);
    const lng = Number(location?.longitude);
    if (!Number.isFinite(lat) || Math.abs(lat) > 90) errors['location.latitude'] = [wording.between('location.latitude', -90, 90)];
    if (!Number.isFinite(lng) || Math.abs(lng) > 180) errors['location.longitude'] = [wording.between('location.longitude', -180, 180)];
  }
  const poll = body.poll as Record<string, unknown> | undefined;
  if (poll !== undefined) {
    if (typeof poll?.question !== 'string' || !poll.question) errors['poll.question'] = [wording.required('poll.question')];
    const options = poll?.options;
    if (!Array.isArray(options) || options.length < 2 || options.length > 12) errors['poll.options'] = [wording.itemsBetween('poll.options', 2, 12)];
  }
  if (body.replyTo !== undefined && !Number.isInteger(body.replyTo)) errors.replyTo = [wording.notInteger('reply to')];
  throwIfAny(wording, errors);
}

/**
 * Every English sentence the sandbox puts in an error body, in one place. The provider's real
 * sentences are only partly known (shared/wasender-api.md §1.3, §9), so a second wording exists:
 * with it every error text differs while statuses and shapes stay, which proves a client reads
 * status codes and fields, not prose. The alternate sentences avoid the standard ones' key words
 * (limit, plan, connected, state…) so that a client matching words is caught too.
 */

export type ErrorWordingName = 'standard' | 'alternate';

export interface ErrorWording {
  patRequired: string;
  apiKeyRequired: string;
  unknownApiKey: string;
  unknownStatusKey: string;
  sessionNotFound: string;
  messageNotFound: string;
  notFound: string;
  validationFailed: string;
  sessionLimit: string;
  notConnected: string;
  notInitialized: string;
  notFailed: string;
  serverError: string;
  malformedJson: string;
  tooLarge: string;
  noPhoneForLid: string;
  cannotDecrypt: string;
  required(label: string): string;
  requiredWithoutMedia(label: string): string;
  tooLong(label: string, max: number): string;
  invalidFormat(label: string): string;
  notBoolean(label: string): string;
  notUrl(label: string): string;
  notArray(label: string): string;
  notInteger(label: string): string;
  taken(label: string): string;
  onlyOneOf(fields: string[]): string;
  contactShape(label: string): string;
  between(label: string, min: number, max: number): string;
  itemsBetween(label: string, min: number, max: number): string;
  mustEndWith(label: string, suffix: string): string;
  selectedInvalid(label: string): string;
  accountProtection(seconds: number): string;
  planLimit(perMinute: number): string;
  injectedFailure(status: number): string;
}

const standard: ErrorWording = {
  patRequired: 'This endpoint requires a valid personal access token.',
  apiKeyRequired: 'API key is required',
  unknownApiKey: 'invalid API key',
  unknownStatusKey: 'Session not found for the provided API key',
  sessionNotFound: 'WhatsApp session not found.',
  messageNotFound: 'Message not found.',
  notFound: 'Not found.',
  validationFailed: 'Validation failed',
  sessionLimit: 'You have reached the session limit of your plan. Upgrade your plan or delete unused sessions.',
  notConnected: 'Session is not connected',
  notInitialized: 'Session not initialized. Call connect first.',
  notFailed: 'Only failed messages can be resent.',
  serverError: 'Server Error',
  malformedJson: 'Malformed JSON body.',
  tooLarge: 'The file is too large.',
  noPhoneForLid: 'No phone number is known for this lid.',
  cannotDecrypt: 'Failed to decrypt media.',
  required: (label) => `The ${label} field is required.`,
  requiredWithoutMedia: (label) => `The ${label} field is required when no media is present.`,
  tooLong: (label, max) => `The ${label} field must be a string of at most ${max} characters.`,
  invalidFormat: (label) => `The ${label} field format is invalid.`,
  notBoolean: (label) => `The ${label} field must be true or false.`,
  notUrl: (label) => `The ${label} field must be a valid URL.`,
  notArray: (label) => `The ${label} field must be an array.`,
  notInteger: (label) => `The ${label} field must be an integer.`,
  taken: (label) => `The ${label} has already been taken.`,
  onlyOneOf: (fields) => `Only one of ${fields.join(', ')} may be sent at once.`,
  contactShape: (label) => `The ${label} field must have a name and a phone.`,
  between: (label, min, max) => `The ${label} field must be between ${min} and ${max}.`,
  itemsBetween: (label, min, max) => `The ${label} field must have between ${min} and ${max} items.`,
  mustEndWith: (label, suffix) => `The ${label} must end with ${suffix}.`,
  selectedInvalid: (label) => `The selected ${label} is invalid.`,
  accountProtection: (seconds) => `Account protection is enabled: you can only send 1 message every ${seconds} seconds.`,
  planLimit: (perMinute) => `You can only send ${perMinute} messages per minute.`,
  injectedFailure: (status) => `Injected failure (HTTP ${status})`,
};

const alternate: ErrorWording = {
  patRequired: 'Unnotarized',
  apiKeyRequired: 'Missing credentials.',
  unknownApiKey: 'Unauthenticated.',
  unknownStatusKey: 'No session matches these credentials.',
  sessionNotFound: 'Record does not exist.',
  messageNotFound: 'No such record.',
  notFound: 'Route could not be resolved.',
  validationFailed: 'The given data was invalid.',
  sessionLimit: 'No room for another number on this account.',
  notConnected: 'WhatsApp is offline for this number; link it first',
  notInitialized: 'No pairing code yet: start the link first',
  notFailed: 'Only records that went wrong may be retried.',
  serverError: 'Something broke on our side.',
  malformedJson: 'Request payload could not be decoded.',
  tooLarge: 'Payload exceeds the permitted size.',
  noPhoneForLid: 'That identifier maps to nobody we know.',
  cannotDecrypt: 'The attachment could not be unlocked.',
  required: (label) => `Please supply ${label}.`,
  requiredWithoutMedia: (label) => `Please supply ${label} or an attachment.`,
  tooLong: (label, max) => `${label} exceeds ${max} characters.`,
  invalidFormat: (label) => `${label} looks wrong.`,
  notBoolean: (label) => `${label} expects a yes/no value.`,
  notUrl: (label) => `${label} must be a link.`,
  notArray: (label) => `${label} expects a list.`,
  notInteger: (label) => `${label} expects a whole number.`,
  taken: (label) => `${label} belongs to another number.`,
  onlyOneOf: (fields) => `Pick a single attachment among ${fields.join(' / ')}.`,
  contactShape: (label) => `${label} needs both name and phone.`,
  between: (label, min, max) => `${label} lies outside ${min}…${max}.`,
  itemsBetween: (label, min, max) => `${label} takes ${min} to ${max} entries.`,
  mustEndWith: (label, suffix) => `${label} has to finish in ${suffix}.`,
  selectedInvalid: (label) => `Unsupported ${label}.`,
  accountProtection: (seconds) => `Slow down: protected numbers may send once per ${seconds}s.`,
  planLimit: (perMinute) => `Quota of ${perMinute}/min used up.`,
  injectedFailure: (status) => `Simulated outage, code ${status}`,
};

export const ERROR_WORDINGS: Record<ErrorWordingName, ErrorWording> = { standard, alternate };

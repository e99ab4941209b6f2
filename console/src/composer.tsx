/**
 * The reply box: text (Enter sends, Shift+Enter breaks the line), media by URL, a document, a
 * location or a poll, sent with sendMessage. A draft keeps its idempotency key until it changes, so
 * sending it again after a lost answer does not send it twice.
 */
import type { ResultOf } from '@graphql-typed-document-node/core';
import { useRef, useState } from 'preact/hooks';
import { ApiError, describeError, fieldError } from './api.ts';
import { SendMessage } from './documents.ts';
import { CheckField, TextField } from './form.tsx';
import type { SendMessageInput } from './generated/graphql.ts';
import { Alert, useSigned } from './ui.tsx';

type Sent = ResultOf<typeof SendMessage>['sendMessage'];

const KINDS = {
  text: 'Text',
  image: 'Image',
  video: 'Video',
  audio: 'Voice note',
  document: 'Document',
  location: 'Location',
  poll: 'Poll',
} as const;
type Kind = keyof typeof KINDS;

interface Draft {
  text: string;
  url: string;
  fileName: string;
  latitude: string;
  longitude: string;
  place: string;
  question: string;
  options: string;
  multiSelect: boolean;
}

const EMPTY: Draft = { text: '', url: '', fileName: '', latitude: '', longitude: '', place: '', question: '', options: '', multiSelect: false };

/** Random enough to be unique per draft; works on plain http too (randomUUID needs a secure page). */
function newKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

const optional = (value: string) => value.trim() || null;

/** The input for the draft, or the fields the page can tell are wrong before asking the server. */
function inputOf(kind: Kind, draft: Draft): { content: Partial<SendMessageInput> } | { errors: Record<string, string> } {
  switch (kind) {
    case 'text':
      return { content: { text: draft.text } };
    case 'image':
    case 'video':
    case 'audio':
      return { content: { [kind]: { url: draft.url.trim(), caption: optional(draft.text) } } };
    case 'document':
      return { content: { document: { url: draft.url.trim(), fileName: optional(draft.fileName), caption: optional(draft.text) } } };
    case 'location': {
      const latitude = Number.parseFloat(draft.latitude);
      const longitude = Number.parseFloat(draft.longitude);
      const errors: Record<string, string> = {};
      if (Number.isNaN(latitude)) errors['location.latitude'] = 'must be a number, e.g. -6.8';
      if (Number.isNaN(longitude)) errors['location.longitude'] = 'must be a number, e.g. 39.28';
      if (Object.keys(errors).length) return { errors };
      return { content: { location: { latitude, longitude, name: optional(draft.place) } } };
    }
    case 'poll':
      return { content: { poll: { question: draft.question, options: draft.options.split('\n').map((o) => o.trim()).filter(Boolean), multiSelect: draft.multiSelect } } };
  }
}

export function Composer({ sessionId, chatId, onSent }: { sessionId: string; chatId: string; onSent: (message: Sent) => void }) {
  const { api } = useSigned();
  const [kind, setKind] = useState<Kind>('text');
  const [draft, setDraft] = useState(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const key = useRef(newKey());
  const message = useRef<HTMLTextAreaElement>(null);

  const edit = (change: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...change }));
    key.current = newKey();
  };

  const send = async () => {
    if (busy) return;
    setFailure(null);
    const built = inputOf(kind, draft);
    if ('errors' in built) return setErrors(built.errors);
    setBusy(true);
    try {
      const { sendMessage } = await api.request(SendMessage, { input: { sessionId, chatId, idempotencyKey: key.current, ...built.content } });
      onSent(sendMessage);
      setDraft(EMPTY);
      setErrors({});
      key.current = newKey();
      message.current?.focus();
    } catch (e) {
      const fields = e instanceof ApiError ? e.fields : {};
      setErrors(fields);
      // Errors no field of this form shows (the chat, the session) are said above it.
      const shown = (key: string) => (kind === 'text' ? key === 'text' : key.startsWith(`${kind}.`));
      const keys = Object.keys(fields);
      if (!keys.length || !keys.every(shown)) setFailure(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const caption = kind !== 'text' && kind !== 'location' && kind !== 'poll';
  const err = (name: string) => fieldError(errors, name);
  const messageError = err(kind === 'text' ? 'text' : `${kind}.caption`);
  return (
    <form
      class="composer"
      aria-label="Reply"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
    >
      {failure && <Alert>{failure}</Alert>}
      <div class="composer-kind">
        <label for="send-as">Send as</label>
        <select id="send-as" value={kind} onChange={(event) => (setKind(event.currentTarget.value as Kind), setErrors({}))}>
          {Object.entries(KINDS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {(kind === 'image' || kind === 'video' || kind === 'audio' || kind === 'document') && (
        <>
          <TextField id="send-url" label={`${KINDS[kind]} URL`} hint="A public http or https address the provider fetches." value={draft.url} onInput={(url) => edit({ url })} error={err(`${kind}.url`)} />
          {kind === 'document' && <TextField id="send-file-name" label="File name" value={draft.fileName} onInput={(fileName) => edit({ fileName })} error={err('document.fileName')} />}
        </>
      )}
      {kind === 'location' && (
        <div class="composer-row">
          <TextField id="send-latitude" label="Latitude" value={draft.latitude} onInput={(latitude) => edit({ latitude })} error={err('location.latitude')} />
          <TextField id="send-longitude" label="Longitude" value={draft.longitude} onInput={(longitude) => edit({ longitude })} error={err('location.longitude')} />
          <TextField id="send-place" label="Place name" value={draft.place} onInput={(place) => edit({ place })} error={err('location.name')} />
        </div>
      )}
      {kind === 'poll' && (
        <>
          <TextField id="send-question" label="Question" value={draft.question} onInput={(question) => edit({ question })} error={err('poll.question')} />
          <div class="field">
            <label for="send-options">Options, one per line</label>
            <textarea
              id="send-options"
              rows={3}
              value={draft.options}
              aria-invalid={err('poll.options') ? true : undefined}
              aria-describedby={err('poll.options') ? 'send-options-error' : undefined}
              onInput={(event) => edit({ options: event.currentTarget.value })}
            />
            {err('poll.options') && (
              <p id="send-options-error" class="field-error">
                {err('poll.options')}
              </p>
            )}
          </div>
          <CheckField id="send-multi" label="Several answers allowed" hint="Voters may pick more than one option." checked={draft.multiSelect} onChange={(multiSelect) => edit({ multiSelect })} />
        </>
      )}
      {(kind === 'text' || caption) && (
        <div class="composer-message">
          <label for="send-message">{kind === 'text' ? 'Message' : 'Caption'}</label>
          <textarea
            id="send-message"
            ref={message}
            rows={2}
            value={draft.text}
            aria-invalid={messageError ? true : undefined}
            aria-describedby={messageError ? 'send-message-error' : undefined}
            onInput={(event) => edit({ text: event.currentTarget.value })}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
                event.preventDefault();
                void send();
              }
            }}
          />
          {messageError && (
            <p id="send-message-error" class="field-error">
              {messageError}
            </p>
          )}
        </div>
      )}
      <button type="submit" disabled={busy}>
        Send
      </button>
    </form>
  );
}

/** Form fields with their labels and the server's field-level errors (`extensions.fields`). */
import type { ComponentChildren } from 'preact';

export function TextField(props: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  error?: string | undefined;
  hint?: string;
  type?: 'text' | 'tel';
  autoComplete?: string;
  disabled?: boolean;
  inputRef?: (element: HTMLInputElement | null) => void;
}) {
  return (
    <Field id={props.id} label={props.label} hint={props.hint} error={props.error}>
      {(described) => (
        <input
          id={props.id}
          ref={props.inputRef}
          {...(props.type === 'tel' ? { type: 'tel' as const } : { type: 'text' as const })}
          value={props.value}
          autoComplete={props.autoComplete ?? 'off'}
          disabled={props.disabled}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={described}
          onInput={(event) => props.onInput(event.currentTarget.value)}
        />
      )}
    </Field>
  );
}

/** A labelled control with its hint and error above and below it; the control gets what describes it. */
function Field(props: { id: string; label: string; hint?: string | undefined; error?: string | undefined; children: (describedBy: string | undefined) => ComponentChildren }) {
  const described = [props.hint && `${props.id}-hint`, props.error && `${props.id}-error`].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.hint && (
        <p id={`${props.id}-hint`} class="hint">
          {props.hint}
        </p>
      )}
      {props.children(described || undefined)}
      {props.error && (
        <p id={`${props.id}-error`} class="field-error">
          {props.error}
        </p>
      )}
    </div>
  );
}

export function CheckField(props: { id: string; label: string; hint: string; checked: boolean; onChange: (checked: boolean) => void; error?: string | undefined; disabled?: boolean }) {
  return (
    <div class="check">
      <input
        id={props.id}
        type="checkbox"
        checked={props.checked}
        disabled={props.disabled}
        aria-describedby={`${props.id}-hint${props.error ? ` ${props.id}-error` : ''}`}
        aria-invalid={props.error ? true : undefined}
        onChange={(event) => props.onChange(event.currentTarget.checked)}
      />
      <label for={props.id}>{props.label}</label>
      <p id={`${props.id}-hint`} class="hint">
        {props.hint}
      </p>
      {props.error && (
        <p id={`${props.id}-error`} class="field-error">
          {props.error}
        </p>
      )}
    </div>
  );
}

/** The four settings of a session, as the create form and the settings form show them. */
export const SETTINGS = [
  { key: 'accountProtection', label: 'Account protection', hint: 'The provider paces sends to one every 5 seconds to protect the number.' },
  { key: 'logMessages', label: 'Log messages', hint: 'The provider keeps message logs (needed to resend).' },
  { key: 'autoReadMessages', label: 'Mark incoming messages read', hint: 'Incoming messages are marked read automatically.' },
  { key: 'autoRejectCalls', label: 'Reject calls', hint: 'Incoming calls are rejected automatically.' },
] as const;

export type SettingKey = (typeof SETTINGS)[number]['key'];
export type Settings = Record<SettingKey, boolean>;

export function SettingsFields({ prefix, legend, values, onChange, errors, disabled }: { prefix: string; legend: string; values: Settings; onChange: (values: Settings) => void; errors: Record<string, string>; disabled?: boolean }) {
  return (
    <fieldset class="settings">
      <legend>{legend}</legend>
      {SETTINGS.map((setting) => (
        <CheckField
          key={setting.key}
          id={`${prefix}-${setting.key}`}
          label={setting.label}
          hint={setting.hint}
          checked={values[setting.key]}
          error={errors[setting.key]}
          disabled={disabled}
          onChange={(checked) => onChange({ ...values, [setting.key]: checked })}
        />
      ))}
    </fieldset>
  );
}

/** A multi-line field with its label, hint and error. */
export function TextAreaField(props: { id: string; label: string; value: string; onInput: (value: string) => void; error?: string | undefined; hint?: string; rows?: number; textareaRef?: (element: HTMLTextAreaElement | null) => void }) {
  return (
    <Field id={props.id} label={props.label} hint={props.hint} error={props.error}>
      {(described) => (
        <textarea
          id={props.id}
          ref={props.textareaRef}
          rows={props.rows ?? 3}
          value={props.value}
          spellcheck={false}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={described}
          onInput={(event) => props.onInput(event.currentTarget.value)}
        />
      )}
    </Field>
  );
}

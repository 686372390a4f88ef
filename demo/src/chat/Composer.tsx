// Writing a message: Enter sends, Shift+Enter starts a new line, Escape drops a
// reply or an edit. Says you are typing while you do, and stops when you stop.

import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { Alert } from '../ui/Alert.tsx';

export const MAX_BODY = 4000;
const SHOW_COUNTER_FROM = MAX_BODY - 200;

export function Composer({
  replyingTo,
  editing,
  error,
  disabled,
  onSend,
  onSaveEdit,
  onCancel,
  onTyping,
}: {
  replyingTo: { name: string; text: string } | null;
  /** The text of the message being edited, if one is. */
  editing: string | null;
  error: string | null;
  /** Why nothing can be written here, if so. */
  disabled: string | null;
  onSend: (body: string) => void;
  onSaveEdit: (body: string) => void;
  onCancel: () => void;
  onTyping: (typing: boolean) => void;
}) {
  const inputId = useId();
  const input = useRef<HTMLTextAreaElement>(null);
  const [text, setText] = useState('');

  useEffect(() => {
    if (editing !== null) setText(editing);
    if (editing !== null || replyingTo) input.current?.focus();
  }, [editing, replyingTo]);

  const body = text.trim();
  const tooLong = text.length > MAX_BODY;

  const submit = () => {
    if (!body || tooLong) return;
    if (editing !== null) onSaveEdit(body);
    else onSend(body);
    setText('');
    onTyping(false);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === 'Escape' && (editing !== null || replyingTo)) {
      event.preventDefault();
      if (editing !== null) setText('');
      onCancel();
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      {(replyingTo || editing !== null) && (
        <div className="composer-context">
          <span>
            {editing !== null ? (
              'Editing your message'
            ) : (
              <>
                Replying to <strong>{replyingTo?.name}</strong>: {replyingTo?.text}
              </>
            )}
          </span>
          <button
            type="button"
            className="icon-button"
            aria-label={editing !== null ? 'Cancel editing' : 'Cancel reply'}
            onClick={() => {
              if (editing !== null) setText('');
              onCancel();
            }}
          >
            ×
          </button>
        </div>
      )}
      <Alert
        message={
          tooLong ? `That message is too long: keep it under ${MAX_BODY.toLocaleString()} characters.` : error
        }
      />
      <div className="composer-row">
        <label htmlFor={inputId} className="visually-hidden">
          Message
        </label>
        <textarea
          id={inputId}
          ref={input}
          rows={1}
          placeholder={disabled ?? 'Write a message'}
          disabled={disabled !== null}
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            onTyping(event.target.value.trim() !== '');
          }}
          onBlur={() => onTyping(false)}
          onKeyDown={onKeyDown}
        />
        {text.length >= SHOW_COUNTER_FROM && (
          <span className={`counter${tooLong ? ' over' : ''}`} aria-live="polite">
            {text.length}/{MAX_BODY}
          </span>
        )}
        <button type="submit" className="button primary" disabled={!body || tooLong || disabled !== null}>
          {editing !== null ? 'Save' : 'Send'}
        </button>
      </div>
    </form>
  );
}

/**
 * The inbox: a session's chats by their last message with unread counts (live through chatUpdated),
 * and one chat's history, paged back as it is scrolled up. New messages arrive through
 * messageReceived from the newest one shown; after a dropped connection the subscription is sent
 * again from the last message seen, so none is missed or shown twice.
 */
import type { ResultOf } from '@graphql-typed-document-node/core';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { describeError, serverNow } from './api.ts';
import { ChatDeleted, ChatHistory, Chats, ChatUpdated, MarkChatRead, MessageAgain, MessageReceived, MessageUpdated, Sessions } from './documents.ts';
import type { MessageKind, MessageStatus } from './generated/graphql.ts';
import { BASE, navigate, useLocation } from './router.ts';
import { Heading, useTitle, type SessionSummary } from './sessions.tsx';
import { Alert, Link, STATUS_LABELS, Time, useSigned } from './ui.tsx';
import { Composer } from './composer.tsx';

type ChatItem = NonNullable<ResultOf<typeof Chats>['session']>['chats']['nodes'][number];
type History = NonNullable<ResultOf<typeof ChatHistory>['chat']>;
type MessageItem = History['messages']['nodes'][number];

export function chatTitle(chat: Pick<ChatItem, 'name' | 'phoneNumber' | 'remoteJid'>): string {
  return chat.name || chat.phoneNumber || chat.remoteJid;
}

export function InboxScreen({ chatId }: { chatId: string | null }) {
  const { api } = useSigned();
  const { params } = useLocation();
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [chatSession, setChatSession] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useTitle('Inbox');

  useEffect(() => {
    api.request(Sessions, { after: null }).then(
      ({ sessions: page }) => setSessions(page.nodes),
      (e: unknown) => setError(describeError(e)),
    );
  }, [api]);

  const chosen = params.get('session');
  const fallback = sessions?.find((s) => s.status === 'CONNECTED') ?? sessions?.[0];
  const sessionId = (chatId ? chatSession : null) ?? chosen ?? fallback?.id ?? null;
  const chats = useChats(sessionId);

  return (
    <main class={`inbox${chatId ? ' has-chat' : ''}`}>
      <section class="chat-list" aria-labelledby="inbox-heading">
        <div class="title-row">
          {chatId ? <h1 id="inbox-heading">Inbox</h1> : <Heading>Inbox</Heading>}
        </div>
        {error && <Alert>{error}</Alert>}
        {sessions && sessions.length > 1 && (
          <div class="field">
            <label for="inbox-session">Session</label>
            <select id="inbox-session" value={sessionId ?? ''} onChange={(event) => navigate(`${BASE}/inbox?session=${encodeURIComponent(event.currentTarget.value)}`)}>
              {sessions.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name} ({STATUS_LABELS[s.status]})
                </option>
              ))}
            </select>
          </div>
        )}
        {sessions?.length === 0 && <p>No sessions yet: create and connect one first.</p>}
        {chats.error && <Alert>{chats.error}</Alert>}
        {sessionId && chats.list === null && !chats.error && <p>Loading chats…</p>}
        {chats.list?.length === 0 && <p>No chats yet. Messages customers send to this number appear here.</p>}
        {chats.list && chats.list.length > 0 && (
          <ul class="chats">
            {chats.list.map((chat) => (
              <li key={chat.id}>
                <ChatLink chat={chat} sessionId={sessionId!} active={chat.id === chatId} />
              </li>
            ))}
          </ul>
        )}
        {chats.more && (
          <button type="button" class="quiet" onClick={chats.loadMore}>
            More chats
          </button>
        )}
      </section>
      {chatId && <ChatView key={chatId} chatId={chatId} onChat={chats.upsert} onSession={setChatSession} />}
    </main>
  );
}

function byLastMessage(a: ChatItem, b: ChatItem): number {
  return (b.lastMessageAt ?? '').localeCompare(a.lastMessageAt ?? '');
}

function useChats(sessionId: string | null) {
  const { api } = useSigned();
  const [list, setList] = useState<ChatItem[] | null>(null);
  const [more, setMore] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const upsert = useCallback((chat: ChatItem) => {
    setList((chats) => (chats ? [chat, ...chats.filter((c) => c.id !== chat.id)].sort(byLastMessage) : chats));
  }, []);

  const load = useCallback(
    async (after: string | null) => {
      if (!sessionId) return;
      try {
        const { session } = await api.request(Chats, { sessionId, after });
        if (!session) return setError('This session does not exist, or your token may not see it.');
        const { nodes, pageInfo } = session.chats;
        setList((chats) => (after && chats ? [...chats, ...nodes.filter((n) => !chats.some((c) => c.id === n.id))] : nodes));
        setMore(pageInfo.hasNextPage ? (pageInfo.endCursor ?? null) : null);
        setError(null);
      } catch (e) {
        setError(describeError(e));
      }
    },
    [api, sessionId],
  );

  useEffect(() => {
    setList(null);
    setMore(null);
    if (!sessionId) return;
    const stops = [
      api.subscribe(ChatUpdated, { sessionId }, { next: (data) => upsert(data.chatUpdated) }),
      api.subscribe(ChatDeleted, { sessionId }, { next: (data) => setList((chats) => chats?.filter((c) => c.id !== data.chatDeleted) ?? chats) }),
      // chatUpdated has no replay: what changed while the link was down is read again.
      api.onReconnect(() => void load(null)),
    ];
    void load(null);
    return () => stops.forEach((stop) => stop());
  }, [api, sessionId, load, upsert]);

  return { list, more, error, upsert, loadMore: () => void load(more) };
}

const KIND_LABELS: Record<MessageKind, string> = {
  TEXT: 'Message',
  IMAGE: 'Photo',
  VIDEO: 'Video',
  AUDIO: 'Audio',
  DOCUMENT: 'Document',
  STICKER: 'Sticker',
  LOCATION: 'Location',
  CONTACT: 'Contact card',
  POLL: 'Poll',
  REACTION: 'Reaction',
  OTHER: 'Message',
};

function preview(message: { kind: MessageKind; text?: string | null } | null | undefined): string {
  if (!message) return '';
  if (message.kind === 'TEXT') return message.text ?? '';
  return message.text ? `${KIND_LABELS[message.kind]}: ${message.text}` : KIND_LABELS[message.kind];
}

function ChatLink({ chat, sessionId, active }: { chat: ChatItem; sessionId: string; active: boolean }) {
  const title = chatTitle(chat);
  const showPhone = chat.phoneNumber && chat.phoneNumber !== title;
  return (
    <Link href={`${BASE}/inbox/${encodeURIComponent(chat.id)}?session=${encodeURIComponent(sessionId)}`} class={`chat-link${chat.unreadCount ? ' unread' : ''}`} aria-current={active ? 'page' : undefined}>
      <span class="chat-line">
        <span class="chat-name">{title}</span>
        {chat.lastMessageAt && <Time value={chat.lastMessageAt} />}
      </span>
      <span class="chat-line">
        <span class="chat-preview">
          {showPhone && <span class="chat-phone">{chat.phoneNumber} · </span>}
          {chat.lastMessage?.direction === 'OUTBOUND' && 'You: '}
          {preview(chat.lastMessage)}
        </span>
        {chat.unreadCount > 0 && (
          <span class="count">
            {chat.unreadCount}
            <span class="visually-hidden"> unread</span>
          </span>
        )}
      </span>
    </Link>
  );
}

function ChatView({ chatId, onChat, onSession }: { chatId: string; onChat: (chat: ChatItem) => void; onSession: (sessionId: string) => void }) {
  const { api, access } = useSigned();
  const [chat, setChat] = useState<History | null | undefined>(undefined);
  const [messages, setMessages] = useState<MessageItem[]>([]);
  const [older, setOlder] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const keepOffset = useRef<number | null>(null);
  const top = useRef<HTMLDivElement>(null);

  /**
   * Replaces the messages it knows and puts the new ones before or after the rest, in the server's
   * order (cursors are opaque and timestamps tie, so the order is the order pages and events came in).
   */
  const place = useCallback((incoming: MessageItem[], where: 'before' | 'after') => {
    setMessages((list) => {
      const byId = new Map(incoming.map((m) => [m.id, m]));
      const kept = list.map((m) => (byId.has(m.id) ? { ...m, ...byId.get(m.id) } : m));
      const fresh = incoming.filter((m) => !list.some((known) => known.id === m.id));
      return where === 'before' ? [...fresh, ...kept] : [...kept, ...fresh];
    });
  }, []);

  const markRead = useCallback(async () => {
    if (!access.act || document.visibilityState !== 'visible') return;
    try {
      onChat((await api.request(MarkChatRead, { chatId })).markChatRead);
    } catch (e) {
      setError(describeError(e));
    }
  }, [api, access.act, chatId, onChat]);

  const readNewest = useCallback(async () => {
    const { chat: found } = await api.request(ChatHistory, { id: chatId, after: null });
    if (!found) return null;
    setChat(found);
    onSession(found.session.id);
    place([...found.messages.nodes].reverse(), 'after');
    return found;
  }, [api, chatId, place, onSession]);

  useEffect(() => {
    let stops: (() => void)[] = [];
    let cancelled = false;
    void (async () => {
      try {
        const found = await readNewest();
        if (cancelled) return;
        if (!found) return setChat(null);
        setOlder(found.messages.pageInfo.hasNextPage ? (found.messages.pageInfo.endCursor ?? null) : null);
        if (found.unreadCount > 0) void markRead();
        const newest = found.messages.nodes[0]?.cursor ?? null;
        stops = [
          // From the newest message shown, and from the last one received after a reconnect.
          api.subscribe(
            MessageReceived,
            { chatId, after: newest },
            {
              next: (data) => {
                place([data.messageReceived], 'after');
                void markRead();
              },
              resume: (data) => ({ after: data.messageReceived.cursor }),
            },
          ),
          api.subscribe(MessageUpdated, { chatId }, { next: (data) => place([data.messageUpdated], 'after') }),
          // Status changes have no replay: the newest page is read again after a reconnect.
          api.onReconnect(() => void readNewest().catch(() => {})),
        ];
      } catch (e) {
        if (!cancelled) setError(describeError(e));
      }
    })();
    const onVisible = () => document.visibilityState === 'visible' && void markRead();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      cancelled = true;
      stops.forEach((stop) => stop());
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [api, chatId]);

  /** A message read again (a media link that ran out). */
  const refresh = useCallback(
    async (id: string) => {
      const { node } = await api.request(MessageAgain, { id }).catch(() => ({ node: null }));
      if (node && 'cursor' in node) place([node as MessageItem], 'after');
    },
    [api, place],
  );

  const loadOlder = useCallback(async () => {
    if (!older || loadingOlder) return;
    setLoadingOlder(true);
    try {
      const { chat: found } = await api.request(ChatHistory, { id: chatId, after: older });
      if (!found) return;
      const el = scroller.current;
      if (el) keepOffset.current = el.scrollHeight - el.scrollTop;
      place([...found.messages.nodes].reverse(), 'before');
      setOlder(found.messages.pageInfo.hasNextPage ? (found.messages.pageInfo.endCursor ?? null) : null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoadingOlder(false);
    }
  }, [api, chatId, older, loadingOlder, place]);

  // Older messages go on top without moving what is on screen; new ones scroll into view when the
  // reader is at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (keepOffset.current !== null) {
      el.scrollTop = el.scrollHeight - keepOffset.current;
      keepOffset.current = null;
    } else if (atBottom.current) el.scrollTop = el.scrollHeight;
  }, [messages]);

  // Scrolling up to the top reads the page before.
  useEffect(() => {
    const el = top.current;
    if (!el || !scroller.current || !older) return;
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void loadOlder(), { root: scroller.current });
    observer.observe(el);
    return () => observer.disconnect();
  }, [older, loadOlder]);

  if (chat === null) {
    return (
      <section class="chat">
        <h2>No such chat</h2>
        <p>It does not exist, or your token may not see it.</p>
      </section>
    );
  }
  const title = chat ? chatTitle(chat) : 'Chat';
  return (
    <section class="chat" aria-labelledby="chat-heading">
      <div class="chat-head">
        <Link href={`${BASE}/inbox${chat ? `?session=${encodeURIComponent(chat.session.id)}` : ''}`} class="back">
          All chats
        </Link>
        <h2 id="chat-heading" tabIndex={-1}>
          {title}
        </h2>
        {chat && chat.phoneNumber && chat.phoneNumber !== title && <p class="chat-phone">{chat.phoneNumber}</p>}
      </div>
      {error && <Alert>{error}</Alert>}
      <div
        class="messages"
        ref={scroller}
        role="log"
        aria-label={`Conversation with ${title}`}
        tabIndex={0}
        onScroll={(event) => {
          const el = event.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        }}
      >
        <div ref={top} class="older">
          {older ? (
            <button type="button" class="quiet" disabled={loadingOlder} onClick={() => void loadOlder()}>
              {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
            </button>
          ) : (
            chat && <p class="start">The start of the conversation.</p>
          )}
        </div>
        {chat === undefined && <p>Loading messages…</p>}
        <ol>
          {messages.map((message) => (
            <Message key={message.id} message={message} group={chat?.isGroup ?? false} onStale={refresh} />
          ))}
        </ol>
      </div>
      {chat && access.act && chat.session.status !== 'CONNECTED' && (
        <p class="note">
          {chat.session.name} is {STATUS_LABELS[chat.session.status].toLowerCase()}: messages can be sent once it is connected.
        </p>
      )}
      {chat && access.act && (
        <Composer
          sessionId={chat.session.id}
          chatId={chatId}
          onSent={(message) => {
            atBottom.current = true;
            place([message], 'after');
          }}
        />
      )}
      {!access.act && <p class="note">Your token may read this inbox but not act on it.</p>}
    </section>
  );
}

const STATUS_TICKS: Partial<Record<MessageStatus, { mark: string; label: string }>> = {
  PENDING: { mark: '🕓', label: 'Pending' },
  SENT: { mark: '✓', label: 'Sent' },
  DELIVERED: { mark: '✓✓', label: 'Delivered' },
  READ: { mark: '✓✓', label: 'Read' },
  PLAYED: { mark: '✓✓', label: 'Played' },
  FAILED: { mark: '!', label: 'Failed' },
};

/** What `content` holds for the kinds whose text alone says too little (its shape follows the inbound parser). */
interface Content {
  poll?: { options?: unknown; multiSelect?: boolean };
  location?: { latitude?: number; longitude?: number; name?: string | null; address?: string | null };
  contact?: { displayName?: string | null; phone?: string | null };
}

function Details({ message }: { message: MessageItem }) {
  const content = (message.content ?? {}) as Content;
  if (message.kind === 'POLL' && Array.isArray(content.poll?.options)) {
    return (
      <ul class="poll" aria-label={content.poll.multiSelect ? 'Options (several answers allowed)' : 'Options'}>
        {content.poll.options.map((option, i) => (
          <li key={i}>{String(option)}</li>
        ))}
      </ul>
    );
  }
  if (message.kind === 'LOCATION' && content.location) {
    const { name, address, latitude, longitude } = content.location;
    return <p class="body">{[name, address, latitude !== undefined && longitude !== undefined ? `${latitude}, ${longitude}` : null].filter(Boolean).join(' · ')}</p>;
  }
  if (message.kind === 'CONTACT' && content.contact) {
    return <p class="body">{[content.contact.displayName, content.contact.phone].filter(Boolean).join(' · ')}</p>;
  }
  return null;
}

function Message({ message, group, onStale }: { message: MessageItem; group: boolean; onStale: (id: string) => void }) {
  const outbound = message.direction === 'OUTBOUND';
  const tick = outbound ? STATUS_TICKS[message.status] : undefined;
  const media = message.deletedAt ? null : message.media;
  // The kind is said in words only where nothing else shows it.
  const label = message.kind !== 'TEXT' && !media ? <span class="kind">{KIND_LABELS[message.kind]} </span> : null;
  return (
    <li class={`message ${outbound ? 'out' : 'in'}`}>
      {group && !outbound && <span class="sender">{message.senderName ?? message.senderPhone ?? ''}</span>}
      {message.deletedAt ? (
        <p class="deleted">This message was deleted.</p>
      ) : (
        <>
          {media && <Media media={media} onStale={() => onStale(message.id)} />}
          {(label || (message.text && message.kind !== 'CONTACT')) && (
            <p class="body">
              {label}
              {message.kind === 'CONTACT' ? null : message.text}
            </p>
          )}
          <Details message={message} />
        </>
      )}
      {message.status === 'FAILED' && <p class="failure">Not sent{message.failureReason ? `: ${message.failureReason}` : '.'}</p>}
      <span class="meta">
        {message.editedAt && !message.deletedAt && 'edited · '}
        <Time value={message.timestamp} />
        {tick && (
          <span class={`tick tick-${message.status.toLowerCase()}`} title={tick.label}>
            {' '}
            <span aria-hidden="true">{tick.mark}</span>
            <span class="visually-hidden">{tick.label}</span>
          </span>
        )}
      </span>
    </li>
  );
}

function sizeText(bytes: number | null | undefined): string | null {
  if (!bytes) return null;
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * The file itself, through our short-lived link. A link that ran out (the page was open a while) is
 * asked for again once; a file that cannot be had says so.
 */
function Media({ media, onStale }: { media: NonNullable<MessageItem['media']>; onStale: () => void }) {
  const [broken, setBroken] = useState(false);
  const failed = () => {
    if (Date.parse(media.urlExpiresAt) <= serverNow()) onStale();
    else setBroken(true);
  };
  useEffect(() => setBroken(false), [media.url]);
  if (broken) return <p class="note">The file could not be loaded.</p>;
  const duration = media.seconds ? ` (${Math.floor(media.seconds / 60)}:${String(media.seconds % 60).padStart(2, '0')})` : '';
  switch (media.kind) {
    case 'IMAGE':
    case 'STICKER':
      return <img class={media.kind === 'STICKER' ? 'sticker' : 'photo'} src={media.url} alt={KIND_LABELS[media.kind]} loading="lazy" onError={failed} />;
    case 'VIDEO':
      return <video class="video" src={media.url} controls preload="metadata" aria-label={`Video${duration}`} onError={failed} />;
    case 'AUDIO':
      return <audio src={media.url} controls preload="metadata" aria-label={`Voice note${duration}`} onError={failed} />;
    default:
      return (
        <p class="document">
          <a href={media.url} download={media.fileName ?? ''}>
            {media.fileName ?? 'Document'}
          </a>
          {[media.mimetype?.split(';')[0], sizeText(media.size)].filter(Boolean).length > 0 && (
            <span class="document-meta"> {[media.mimetype?.split(';')[0], sizeText(media.size)].filter(Boolean).join(', ')}</span>
          )}
        </p>
      );
  }
}

/** Every operation the console sends: the public API only, typed by codegen. */
import { graphql } from './graphql.ts';

// Fragments first: operations below append the ones they spread.
export const SessionSummary = graphql(`
  fragment SessionSummary on WhatsAppSession {
    id
    name
    phoneNumber
    status
    availableActions
  }
`);

export const SessionDetail = graphql(`
  fragment SessionDetail on WhatsAppSession {
    ...SessionSummary
    accountProtection
    logMessages
    autoReadMessages
    autoRejectCalls
    providerSessionId
    lastConnectedAt
    createdAt
    qrCode {
      value
      dataUrl
      expiresAt
    }
  }
`);

export const ChatSummary = graphql(`
  fragment ChatSummary on Chat {
    id
    name
    phoneNumber
    remoteJid
    isGroup
    unreadCount
    lastMessageAt
    lastMessage {
      id
      kind
      text
      direction
    }
  }
`);

export const MessageItem = graphql(`
  fragment MessageItem on Message {
    id
    direction
    kind
    status
    text
    senderName
    senderPhone
    timestamp
    cursor
    editedAt
    deletedAt
    failureReason
    content
    media {
      kind
      mimetype
      fileName
      size
      seconds
      url
      urlExpiresAt
    }
  }
`);

export const Viewer = graphql(`
  query ConsoleViewer {
    viewer {
      role
      allSessions
    }
  }
`);

export const Sessions = graphql(`
  query ConsoleSessions($after: String) {
    sessions(first: 100, after: $after) {
      nodes {
        ...SessionSummary
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const Session = graphql(`
  query ConsoleSession($id: ID!) {
    session(id: $id) {
      ...SessionDetail
    }
  }
`);

export const SessionLogs = graphql(`
  query ConsoleSessionLogs($id: ID!, $after: String) {
    session(id: $id) {
      id
      logs(first: 20, after: $after) {
        nodes {
          id
          type
          message
          status
          createdAt
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const CreateSession = graphql(`
  mutation ConsoleCreateSession($input: CreateSessionInput!) {
    createSession(input: $input) {
      ...SessionSummary
    }
  }
`);

export const UpdateSession = graphql(`
  mutation ConsoleUpdateSession($input: UpdateSessionInput!) {
    updateSession(input: $input) {
      ...SessionDetail
    }
  }
`);

export const ConnectSession = graphql(`
  mutation ConsoleConnectSession($id: ID!) {
    connectSession(id: $id) {
      ...SessionDetail
    }
  }
`);

export const DisconnectSession = graphql(`
  mutation ConsoleDisconnectSession($id: ID!) {
    disconnectSession(id: $id) {
      ...SessionDetail
    }
  }
`);

export const RestartSession = graphql(`
  mutation ConsoleRestartSession($id: ID!) {
    restartSession(id: $id) {
      ...SessionDetail
    }
  }
`);

export const DeleteSession = graphql(`
  mutation ConsoleDeleteSession($id: ID!) {
    deleteSession(id: $id)
  }
`);

export const SessionsChanged = graphql(`
  subscription ConsoleSessionsChanged {
    sessionStatusChanged {
      ...SessionSummary
    }
  }
`);

export const SessionChanged = graphql(`
  subscription ConsoleSessionChanged($sessionId: ID!) {
    sessionStatusChanged(sessionId: $sessionId) {
      ...SessionDetail
    }
  }
`);

export const SessionDeleted = graphql(`
  subscription ConsoleSessionDeleted($sessionId: ID) {
    sessionDeleted(sessionId: $sessionId)
  }
`);

export const QrCodeUpdated = graphql(`
  subscription ConsoleQrCodeUpdated($sessionId: ID!) {
    qrCodeUpdated(sessionId: $sessionId) {
      value
      dataUrl
      expiresAt
    }
  }
`);

export const Chats = graphql(`
  query ConsoleChats($sessionId: ID!, $after: String) {
    session(id: $sessionId) {
      id
      chats(first: 30, after: $after) {
        nodes {
          ...ChatSummary
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const ChatUpdated = graphql(`
  subscription ConsoleChatUpdated($sessionId: ID!) {
    chatUpdated(sessionId: $sessionId) {
      ...ChatSummary
    }
  }
`);

export const ChatDeleted = graphql(`
  subscription ConsoleChatDeleted($sessionId: ID!) {
    chatDeleted(sessionId: $sessionId)
  }
`);

export const ChatHistory = graphql(`
  query ConsoleChatHistory($id: ID!, $after: String) {
    chat(id: $id) {
      ...ChatSummary
      session {
        id
        name
        status
      }
      messages(first: 30, after: $after) {
        nodes {
          ...MessageItem
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const MessageReceived = graphql(`
  subscription ConsoleMessageReceived($chatId: ID!, $after: String) {
    messageReceived(chatId: $chatId, after: $after) {
      ...MessageItem
    }
  }
`);

export const MessageUpdated = graphql(`
  subscription ConsoleMessageUpdated($chatId: ID!) {
    messageUpdated(chatId: $chatId) {
      ...MessageItem
    }
  }
`);

export const MarkChatRead = graphql(`
  mutation ConsoleMarkChatRead($chatId: ID!) {
    markChatRead(chatId: $chatId) {
      ...ChatSummary
    }
  }
`);

export const SendMessage = graphql(`
  mutation ConsoleSendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...MessageItem
    }
  }
`);

export const MessageAgain = graphql(`
  query ConsoleMessageAgain($id: ID!) {
    node(id: $id) {
      ... on Message {
        ...MessageItem
      }
    }
  }
`);

export const BulkJob = graphql(`
  fragment BulkJob on BulkSendJob {
    id
    status
    pausedReason
    template
    total
    queued
    sent
    delivered
    read
    failed
    createdAt
    startedAt
    finishedAt
    estimatedFinishAt
    session {
      id
      name
      status
    }
  }
`);

export const StartBulkSend = graphql(`
  mutation ConsoleStartBulkSend($input: StartBulkSendInput!) {
    startBulkSend(input: $input) {
      ...BulkJob
    }
  }
`);

export const RecentBulkSends = graphql(`
  query ConsoleRecentBulkSends($id: ID!) {
    session(id: $id) {
      id
      bulkSends(first: 10) {
        nodes {
          id
          status
          template
          total
          sent
          failed
          createdAt
        }
      }
    }
  }
`);

export const BulkSend = graphql(`
  query ConsoleBulkSend($id: ID!) {
    bulkSend(id: $id) {
      ...BulkJob
    }
  }
`);

export const BulkSendProgress = graphql(`
  subscription ConsoleBulkSendProgress($jobId: ID!) {
    bulkSendProgress(jobId: $jobId) {
      ...BulkJob
    }
  }
`);

export const PauseBulkSend = graphql(`
  mutation ConsolePauseBulkSend($id: ID!) {
    pauseBulkSend(id: $id) {
      ...BulkJob
    }
  }
`);

export const ResumeBulkSend = graphql(`
  mutation ConsoleResumeBulkSend($id: ID!) {
    resumeBulkSend(id: $id) {
      ...BulkJob
    }
  }
`);

export const CancelBulkSend = graphql(`
  mutation ConsoleCancelBulkSend($id: ID!) {
    cancelBulkSend(id: $id) {
      ...BulkJob
    }
  }
`);

export const HealthFigures = graphql(`
  fragment HealthFigures on SessionHealth {
    from
    to
    uptimePercent
    connectedSince
    sent
    delivered
    read
    failed
    received
    deliveryRate
    readRate
    medianDeliverySeconds
    medianResponseSeconds
    unanswered
    disconnects
  }
`);

export const SessionHealth = graphql(`
  query ConsoleSessionHealth($id: ID!) {
    session(id: $id) {
      id
      health {
        ...HealthFigures
      }
    }
  }
`);

export const HealthTotals = graphql(`
  query ConsoleHealthTotals($from: DateTime!, $to: DateTime!) {
    analytics(bucket: DAY, from: $from, to: $to) {
      ...HealthFigures
    }
  }
`);

export const ProviderSettings = graphql(`
  query ConsoleProviderSettings {
    providerSettings {
      baseUrl
      configured
      sandbox
      source
      tokenHint
      verifiedAt
    }
  }
`);

export const SetProviderToken = graphql(`
  mutation ConsoleSetProviderToken($token: String!) {
    setProviderToken(token: $token) {
      baseUrl
      configured
      sandbox
      source
      tokenHint
      verifiedAt
    }
  }
`);

export const TokenSummary = graphql(`
  fragment TokenSummary on ApiToken {
    id
    name
    role
    allSessions
    sessions {
      id
      name
    }
    tokenHint
    createdAt
    lastUsedAt
    expiresAt
    revokedAt
    previousValueValidUntil
  }
`);

export const ApiTokens = graphql(`
  query ConsoleApiTokens($after: String) {
    apiTokens(first: 50, after: $after) {
      nodes {
        ...TokenSummary
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const CreateApiToken = graphql(`
  mutation ConsoleCreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      token
      apiToken {
        ...TokenSummary
      }
    }
  }
`);

export const RotateApiToken = graphql(`
  mutation ConsoleRotateApiToken($id: ID!, $overlapSeconds: Int) {
    rotateApiToken(id: $id, overlapSeconds: $overlapSeconds) {
      token
      apiToken {
        ...TokenSummary
      }
    }
  }
`);

export const RevokeApiToken = graphql(`
  mutation ConsoleRevokeApiToken($id: ID!) {
    revokeApiToken(id: $id) {
      ...TokenSummary
    }
  }
`);

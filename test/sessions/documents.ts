import { graphql } from '../generated/index.ts';

export const SessionFields = graphql(`
  fragment SessionFields on WhatsAppSession {
    id
    name
    phoneNumber
    status
    availableActions
    accountProtection
    logMessages
    autoReadMessages
    autoRejectCalls
    providerSessionId
    webhookUrl
    lastConnectedAt
    qrCode {
      value
      dataUrl
      svg
      expiresAt
    }
  }
`);

export const CreateSession = graphql(`
  mutation CreateSession($input: CreateSessionInput!) {
    createSession(input: $input) {
      ...SessionFields
    }
  }
`);

export const UpdateSession = graphql(`
  mutation UpdateSession($input: UpdateSessionInput!) {
    updateSession(input: $input) {
      ...SessionFields
    }
  }
`);

export const ConnectSession = graphql(`
  mutation ConnectSession($id: ID!) {
    connectSession(id: $id) {
      ...SessionFields
    }
  }
`);

export const DisconnectSession = graphql(`
  mutation DisconnectSession($id: ID!) {
    disconnectSession(id: $id) {
      ...SessionFields
    }
  }
`);

export const RestartSession = graphql(`
  mutation RestartSession($id: ID!) {
    restartSession(id: $id) {
      ...SessionFields
    }
  }
`);

export const DeleteSession = graphql(`
  mutation DeleteSession($id: ID!) {
    deleteSession(id: $id)
  }
`);

export const RotateKey = graphql(`
  mutation RotateKey($id: ID!) {
    regenerateSessionApiKey(id: $id) {
      id
    }
  }
`);

export const GetSession = graphql(`
  query GetSession($id: ID!) {
    session(id: $id) {
      ...SessionFields
    }
  }
`);

export const ListSessions = graphql(`
  query ListSessions($first: Int, $after: String, $status: SessionStatus) {
    sessions(first: $first, after: $after, status: $status) {
      edges {
        cursor
        node {
          id
          name
          status
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const SessionLogs = graphql(`
  query SessionLogs($id: ID!, $first: Int, $after: String) {
    session(id: $id) {
      logs(first: $first, after: $after) {
        edges {
          node {
            type
            message
            status
            createdAt
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const QrFeed = graphql(`
  subscription QrFeed($sessionId: ID!) {
    qrCodeUpdated(sessionId: $sessionId) {
      value
      expiresAt
    }
  }
`);

export const SessionStatusFeed = graphql(`
  subscription SessionStatusFeed($sessionId: ID) {
    sessionStatusChanged(sessionId: $sessionId) {
      id
      status
    }
  }
`);

export const ProviderSettings = graphql(`
  query ProviderSettings {
    providerSettings {
      configured
      tokenHint
      baseUrl
      sandbox
      source
      verifiedAt
    }
  }
`);

export const SetProviderToken = graphql(`
  mutation SetProviderToken($token: String!) {
    setProviderToken(token: $token) {
      configured
      tokenHint
      source
      verifiedAt
    }
  }
`);

export const newSession = (name: string, phoneNumber: string) => ({ input: { name, phoneNumber } });

export const SessionDeletedFeed = graphql(`
  subscription SessionDeletedFeed($sessionId: ID) {
    sessionDeleted(sessionId: $sessionId)
  }
`);

import { graphql } from '../generated/index.ts';

export const ViewerQuery = graphql(`
  query ViewerQuery {
    viewer {
      role
      allSessions
      sessions {
        id
      }
    }
  }
`);

export const ApiTokenFields = graphql(`
  fragment ApiTokenFields on ApiToken {
    id
    name
    role
    allSessions
    sessions {
      id
    }
    tokenHint
    expiresAt
    lastUsedAt
    revokedAt
    previousValueValidUntil
    createdAt
  }
`);

export const CreateApiToken = graphql(`
  mutation CreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      token
      apiToken {
        ...ApiTokenFields
      }
    }
  }
`);

export const RotateApiToken = graphql(`
  mutation RotateApiToken($id: ID!, $overlapSeconds: Int) {
    rotateApiToken(id: $id, overlapSeconds: $overlapSeconds) {
      token
      apiToken {
        ...ApiTokenFields
      }
    }
  }
`);

export const RevokeApiToken = graphql(`
  mutation RevokeApiToken($id: ID!) {
    revokeApiToken(id: $id) {
      ...ApiTokenFields
    }
  }
`);

export const ApiTokens = graphql(`
  query ApiTokens($first: Int, $after: String) {
    apiTokens(first: $first, after: $after) {
      edges {
        node {
          ...ApiTokenFields
        }
      }
    }
  }
`);

export const RevealSessionApiKey = graphql(`
  mutation RevealSessionApiKey($id: ID!) {
    revealSessionApiKey(id: $id)
  }
`);

export const NodeQuery = graphql(`
  query NodeQuery($id: ID!) {
    node(id: $id) {
      id
      __typename
    }
  }
`);

export const NodesQuery = graphql(`
  query NodesQuery($ids: [ID!]!) {
    nodes(ids: $ids) {
      id
    }
  }
`);

export const SessionName = graphql(`
  query SessionName($id: ID!) {
    session(id: $id) {
      id
      name
      logs(first: 1) {
        edges {
          node {
            type
          }
        }
      }
    }
  }
`);

export const SessionIds = graphql(`
  query SessionIds {
    sessions(first: 100) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

export const RenameSession = graphql(`
  mutation RenameSession($id: ID!, $name: String!) {
    updateSession(input: { id: $id, name: $name }) {
      id
    }
  }
`);

export const SendText = graphql(`
  mutation SendText($sessionId: ID!, $to: String!, $text: String!) {
    sendMessage(input: { sessionId: $sessionId, to: $to, text: $text }) {
      id
    }
  }
`);

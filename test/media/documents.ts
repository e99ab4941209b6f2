import { graphql } from '../generated/index.ts';

export const MessageMediaFields = graphql(`
  fragment MessageMediaFields on Message {
    id
    kind
    direction
    text
    content
    providerMessageId
    media {
      kind
      mimetype
      fileName
      size
      seconds
      caption
      url
      urlExpiresAt
    }
  }
`);

export const SessionMessages = graphql(`
  query SessionMessages($id: ID!) {
    session(id: $id) {
      chats(first: 50) {
        nodes {
          messages(first: 50) {
            nodes {
              ...MessageMediaFields
            }
          }
        }
      }
    }
  }
`);

export const MediaReceived = graphql(`
  subscription MediaReceived($sessionId: ID) {
    messageReceived(sessionId: $sessionId) {
      providerMessageId
      media {
        url
      }
    }
  }
`);

export const SendMedia = graphql(`
  mutation SendMedia($input: SendMessageInput!) {
    sendMessage(input: $input) {
      status
      ...MessageMediaFields
    }
  }
`);

export const MediaOfMessage = graphql(`
  query MediaOfMessage($id: ID!) {
    node(id: $id) {
      ... on Message {
        status
        ...MessageMediaFields
      }
    }
  }
`);

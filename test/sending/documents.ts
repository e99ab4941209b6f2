import { graphql } from '../generated/index.ts';

export const SentMessageFields = graphql(`
  fragment SentMessageFields on Message {
    id
    direction
    kind
    status
    text
    content
    fromJid
    timestamp
    providerMessageId
    replyToProviderMessageId
    failureReason
    cursor
    chat {
      id
      remoteJid
      phoneNumber
      unreadCount
      lastMessage {
        id
      }
    }
  }
`);

export const SendMessage = graphql(`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...SentMessageFields
    }
  }
`);

export const MessageById = graphql(`
  query MessageById($id: ID!) {
    node(id: $id) {
      ... on Message {
        ...SentMessageFields
      }
    }
  }
`);

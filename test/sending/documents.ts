import { graphql } from '../generated/index.ts';

/** What the inbox shows of a message, and what a send adds: its quote, its failure, its chat's counts. */
export const SentMessageFields = graphql(`
  fragment SentMessageFields on Message {
    ...MessageFields
    replyToProviderMessageId
    failureReason
    chat {
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

export const BulkJobFields = graphql(`
  fragment BulkJobFields on BulkSendJob {
    id
    status
    pausedReason
    total
    queued
    sent
    delivered
    read
    failed
    estimatedFinishAt
    createdAt
  }
`);

export const StartBulkSend = graphql(`
  mutation StartBulkSend($input: StartBulkSendInput!) {
    startBulkSend(input: $input) {
      ...BulkJobFields
    }
  }
`);

export const PauseBulkSend = graphql(`
  mutation PauseBulkSend($id: ID!) {
    pauseBulkSend(id: $id) {
      ...BulkJobFields
    }
  }
`);

export const ResumeBulkSend = graphql(`
  mutation ResumeBulkSend($id: ID!) {
    resumeBulkSend(id: $id) {
      ...BulkJobFields
    }
  }
`);

export const CancelBulkSend = graphql(`
  mutation CancelBulkSend($id: ID!) {
    cancelBulkSend(id: $id) {
      ...BulkJobFields
    }
  }
`);

export const BulkSend = graphql(`
  query BulkSend($id: ID!) {
    bulkSend(id: $id) {
      ...BulkJobFields
    }
  }
`);

export const BulkSendProgress = graphql(`
  subscription BulkSendProgress($jobId: ID!) {
    bulkSendProgress(jobId: $jobId) {
      ...BulkJobFields
    }
  }
`);

export const SessionBulkSends = graphql(`
  query SessionBulkSends($id: ID!, $first: Int, $after: String) {
    session(id: $id) {
      bulkSends(first: $first, after: $after) {
        edges {
          node {
            id
            template
            status
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

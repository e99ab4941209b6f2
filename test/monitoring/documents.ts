import { graphql } from '../generated/index.ts';

export const HealthFields = graphql(`
  fragment HealthFields on SessionHealth {
    from
    to
    uptimePercent
    connectedSince
    disconnects
    disconnectsByStatus {
      status
      count
    }
    sent
    delivered
    read
    failed
    deliveryRate
    readRate
    medianDeliverySeconds
    p90DeliverySeconds
    medianResponseSeconds
    p90ResponseSeconds
    responses
    unanswered
    received
    providerCalls
    providerErrorRate
    providerErrors {
      code
      count
    }
    webhookRejections
    medianWebhookLagSeconds
    p90WebhookLagSeconds
  }
`);

export const SessionHealth = graphql(`
  query SessionHealth($id: ID!, $from: DateTime, $to: DateTime) {
    session(id: $id) {
      id
      health(from: $from, to: $to) {
        ...HealthFields
      }
    }
  }
`);

export const Analytics = graphql(`
  query Analytics($sessionId: ID, $from: DateTime!, $to: DateTime!, $bucket: AnalyticsBucket!) {
    analytics(sessionId: $sessionId, from: $from, to: $to, bucket: $bucket) {
      ...HealthFields
    }
  }
`);

export const MessageLogs = graphql(`
  query MessageLogs(
    $sessionId: ID
    $direction: MessageDirection
    $status: MessageStatus
    $kind: MessageKind
    $from: DateTime
    $to: DateTime
    $phone: String
    $first: Int
    $after: String
  ) {
    messageLogs(sessionId: $sessionId, direction: $direction, status: $status, kind: $kind, from: $from, to: $to, phone: $phone, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          direction
          status
          kind
          text
          timestamp
          sentAt
          deliveredAt
          readAt
          failedAt
          failureReason
          deliverySeconds
          session {
            id
          }
          chat {
            phoneNumber
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const ProviderMessageLogs = graphql(`
  query ProviderMessageLogs($id: ID!, $page: Int, $perPage: Int) {
    session(id: $id) {
      providerMessageLogs(page: $page, perPage: $perPage) {
        page
        lastPage
        perPage
        total
        items {
          id
          to
          status
          failedReason
          content
          createdAt
        }
      }
    }
  }
`);

export const CreateScopedToken = graphql(`
  mutation CreateScopedToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      token
    }
  }
`);

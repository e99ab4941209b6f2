/**
 * What GraphiQL opens with: the main job, step by step, for someone who has read nothing yet.
 * test/foundation/first-run.test.ts keeps it valid against the schema.
 */
export const GRAPHIQL_DEFAULT_DOCUMENT = `# whatsapp-graphql: link a WhatsApp number and read its inbox.
# Press ▶ and pick an operation; run them in this order:
#  1. CreateSession registers a number (the built-in sandbox stands in for WasenderAPI
#     unless WASENDER_API_TOKEN is set). Copy the id it returns to "sessionId" in Variables.
#  2. QrCode and SessionStatus (each in a tab of its own) watch the QR and the status live.
#  3. ConnectSession asks for a QR; scan it with WhatsApp on the phone. In the sandbox,
#     "scan" it with POST /sandbox/control/sessions/<providerSessionId>/scan.
#  4. Inbox lists the chats with their last message; MessageReceived follows new messages.

mutation CreateSession($input: CreateSessionInput!) {
  createSession(input: $input) {
    id
    name
    phoneNumber
    status
    providerSessionId
  }
}

subscription QrCode($sessionId: ID!) {
  qrCodeUpdated(sessionId: $sessionId) {
    value
    svg
    expiresAt
  }
}

subscription SessionStatus($sessionId: ID) {
  sessionStatusChanged(sessionId: $sessionId) {
    id
    name
    status
  }
}

mutation ConnectSession($sessionId: ID!) {
  connectSession(id: $sessionId) {
    id
    status
    qrCode {
      value
      expiresAt
    }
  }
}

query Inbox($sessionId: ID!) {
  session(id: $sessionId) {
    id
    name
    status
    chats(first: 20) {
      edges {
        node {
          id
          name
          phoneNumber
          unreadCount
          lastMessage {
            text
            direction
            senderName
            timestamp
          }
        }
      }
    }
  }
}

subscription MessageReceived($sessionId: ID) {
  messageReceived(sessionId: $sessionId) {
    id
    text
    direction
    senderName
    timestamp
    cursor
    chat {
      id
      name
    }
  }
}
`;

export const GRAPHIQL_DEFAULT_VARIABLES = JSON.stringify(
  { input: { name: 'My first number', phoneNumber: '+255700000001' }, sessionId: 'paste the id from CreateSession' },
  null,
  2,
);

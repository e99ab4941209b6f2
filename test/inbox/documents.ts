import { graphql } from '../generated/index.ts';

export const MessageFields = graphql(`
  fragment MessageFields on Message {
    id
    direction
    kind
    status
    text
    content
    fromJid
    senderName
    senderPhone
    timestamp
    providerMessageId
    cursor
    editedAt
    deletedAt
    chat {
      id
      remoteJid
      phoneNumber
      name
      isGroup
    }
  }
`);

export const MessageReceived = graphql(`
  subscription MessageReceived($sessionId: ID, $chatId: ID, $after: String) {
    messageReceived(sessionId: $sessionId, chatId: $chatId, after: $after) {
      ...MessageFields
    }
  }
`);

export const MessageUpdated = graphql(`
  subscription MessageUpdated($sessionId: ID, $chatId: ID) {
    messageUpdated(sessionId: $sessionId, chatId: $chatId) {
      id
      direction
      status
      text
      deletedAt
      content
      providerMessageId
      failureReason
    }
  }
`);

export const ChatUpdated = graphql(`
  subscription ChatUpdated($sessionId: ID) {
    chatUpdated(sessionId: $sessionId) {
      id
      unreadCount
      name
      lastMessage {
        id
        text
      }
    }
  }
`);

export const Chats = graphql(`
  query Chats($id: ID!, $first: Int, $after: String, $unreadOnly: Boolean) {
    session(id: $id) {
      chats(first: $first, after: $after, unreadOnly: $unreadOnly) {
        edges {
          node {
            id
            remoteJid
            phoneNumber
            name
            isGroup
            unreadCount
            lastMessageAt
            lastMessage {
              text
              kind
            }
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

/** Every field of a page's PageInfo: what a client paging both ways reads. */
export const WholePageInfo = graphql(`
  fragment WholePageInfo on PageInfo {
    hasNextPage
    hasPreviousPage
    startCursor
    endCursor
  }
`);

export const ChatMessages = graphql(`
  query ChatMessages($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    chat(id: $id) {
      id
      unreadCount
      messages(first: $first, after: $after, last: $last, before: $before) {
        edges {
          cursor
          node {
            ...MessageFields
          }
        }
        pageInfo {
          ...WholePageInfo
        }
      }
    }
  }
`);

export const MarkChatRead = graphql(`
  mutation MarkChatRead($chatId: ID!) {
    markChatRead(chatId: $chatId) {
      id
      unreadCount
    }
  }
`);

export const ChatDeleted = graphql(`
  subscription ChatDeleted($sessionId: ID) {
    chatDeleted(sessionId: $sessionId)
  }
`);

export const InboxFirstScreen = graphql(`
  query InboxFirstScreen($sessions: Int!, $chats: Int!) {
    sessions(first: $sessions) {
      pageInfo {
        hasNextPage
      }
      edges {
        node {
          id
          name
          status
          chats(first: $chats) {
            pageInfo {
              hasNextPage
              endCursor
            }
            edges {
              node {
                phoneNumber
                unreadCount
                lastMessage {
                  text
                  direction
                }
              }
            }
          }
        }
      }
    }
  }
`);

export const ChatPageFields = graphql(`
  fragment ChatPageFields on Chat {
    id
    remoteJid
    phoneNumber
    name
    isGroup
    unreadCount
    lastMessageAt
    lastMessage {
      # Through an inline fragment and a named one: a page reads the columns both select.
      ... on Message {
        ...MessageFields
        replyToProviderMessageId
      }
    }
  }
`);

/** A page of chats read every way a connection is: edges with cursors, nodes, a fragment, an alias. */
export const ChatPageConnection = graphql(`
  fragment ChatPageConnection on ChatConnection {
    edges {
      cursor
      node {
        ...ChatPageFields
      }
    }
    nodes {
      id
      title: name
    }
    pageInfo {
      ...WholePageInfo
    }
  }
`);

/** A page of one session's chats (see ChatPageConnection). */
export const ChatPage = graphql(`
  query ChatPage($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $unreadOnly: Boolean) {
    session(id: $id) {
      chats(first: $first, after: $after, last: $last, before: $before, unreadOnly: $unreadOnly) {
        ...ChatPageConnection
      }
    }
  }
`);

/** The same page of every session's chats under `sessions`, where it is read with the sessions in one statement. */
export const SessionsChatPage = graphql(`
  query SessionsChatPage($first: Int, $after: String, $last: Int, $before: String, $unreadOnly: Boolean) {
    sessions(first: 100) {
      edges {
        node {
          id
          chats(first: $first, after: $after, last: $last, before: $before, unreadOnly: $unreadOnly) {
            ...ChatPageConnection
          }
        }
      }
    }
  }
`);

/** A session with its first two chats and their last messages, as the two pages below read it. */
export const SessionFirstChats = graphql(`
  fragment SessionFirstChats on WhatsAppSession {
    id
    chats(first: 2) {
      edges {
        node {
          id
          lastMessage {
            text
          }
        }
      }
    }
  }
`);

/** Two pages of sessions in one document, each with the same page of chats. */
export const TwoSessionPages = graphql(`
  query TwoSessionPages {
    oldest: sessions(first: 1) {
      edges {
        node {
          ...SessionFirstChats
        }
      }
    }
    all: sessions(first: 100) {
      edges {
        node {
          ...SessionFirstChats
        }
      }
    }
  }
`);

/** One chat as `chat(id:)` reads it (Prisma's path), to compare with a page's. */
export const OneChat = graphql(`
  query OneChat($id: ID!) {
    chat(id: $id) {
      ...ChatPageFields
    }
  }
`);

/** Every session the token sees, each with its first chats. */
export const SessionsWithChats = graphql(`
  query SessionsWithChats($after: String) {
    sessions(first: 100) {
      edges {
        node {
          id
          chats(first: 100, after: $after) {
            edges {
              node {
                id
                lastMessage {
                  text
                }
              }
            }
          }
        }
      }
    }
  }
`);

/** A page's chats with fields the page does not read itself: relations, loaded by each chat's id. */
export const ChatPageRelations = graphql(`
  query ChatPageRelations($id: ID!) {
    session(id: $id) {
      chats(first: 2) {
        edges {
          node {
            session {
              name
            }
            messages(first: 1) {
              edges {
                node {
                  text
                  chat {
                    phoneNumber
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`);

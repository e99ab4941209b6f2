/**
 * One graphql-transport-ws connection, server side: the protocol of graphql-ws (its message
 * validation, close codes and messages), with a subscription kept as two small objects once it runs.
 * graphql-ws's own server keeps each running subscription as a suspended async function (its
 * registers hold the raw subscribe message, the parsed payload, the execution arguments, three
 * emit closures and pending promises carrying the request's async context): several kilobytes
 * per idle subscriber.
 */
import { randomUUID } from 'node:crypto';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { CloseCode, MessageType, parseMessage, stringifyMessage, type SubscribePayload } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { toCodedError, type YogaServer } from '../graphql/yoga.ts';
import { BadUserInputError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { runWithRequestContext } from '../lib/request-context.ts';
import type { AbuseLimits } from '../modules/auth/abuse-limits.ts';
import type { AuthService } from '../modules/auth/auth.service.ts';
import { bearerToken, type Viewer } from '../modules/auth/viewer.ts';
import { FrameWriter } from './frame-writer.ts';
import { serializeResult, type Subscriber, type SubscriberSink, type SubscriptionHub } from './subscription-hub.ts';

/** A client whose unsent frames exceed this is too slow to keep up and is closed. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** A replay from a cursor waits while more than this is unsent, so a slow reader is paced, not cut off. */
const PACED_BUFFERED_BYTES = 512 * 1024;
export const CLOSE_SLOW_CONSUMER = 4429;
/** The server could not process a subscription's events as fast as they came (WebSocket "Try Again Later"). */
export const CLOSE_OVERLOADED = 1013;
/** Operations one connection may run at once: a client cannot grow the server's memory without bound. */
export const MAX_OPERATIONS_PER_CONNECTION = 200;
/** A client must authenticate (connection_init) this soon after connecting, or is closed (4408). */
export const CONNECTION_INIT_TIMEOUT_MS = 3_000;

/** What every connection of one server shares. */
export interface ConnectionDeps {
  yoga: YogaServer;
  hub: SubscriptionHub;
  auth: AuthService;
  abuseLimits: AbuseLimits;
  logger: Logger;
  /** The key under which identical subscriptions share one execution (null: run alone). */
  shareKey(args: ExecutionArgs, viewer: Viewer): string | null;
}

/** A connection's credential, checked again when its token is revoked or rotated, or runs out. */
export interface Credential {
  token: string;
  tokenId: string;
  validUntil: number | null;
}

const ACK = JSON.stringify({ type: MessageType.ConnectionAck });
const PONG = JSON.stringify({ type: MessageType.Pong });

export class Connection {
  private initTimer: NodeJS.Timeout | null = null;
  private initReceived = false;
  private acknowledged = false;
  private viewer: Viewer | null = null;
  /** The token's credential, for API tokens (the environment's admin token has none). */
  credential: Credential | null = null;
  /** Operations by the client's id; null while one is being set up. Made on the first. */
  private operations: Map<string, Operation | null> | null = null;

  constructor(
    readonly socket: WebSocket,
    private readonly address: string | null,
    private readonly deps: ConnectionDeps,
  ) {
    this.initTimer = setTimeout(closeUninitialised, CONNECTION_INIT_TIMEOUT_MS, this);
  }

  /** One message from the client; each (a subscribe, with the execution it starts) is one request for the logs. */
  receive(data: string): void {
    runWithRequestContext({ requestId: randomUUID() }, () =>
      this.handle(data).catch((error: unknown) => {
        this.deps.logger.error({ err: error }, 'graphql-ws message handling failed');
        this.close(CloseCode.InternalServerError, 'Internal server error');
      }),
    );
  }

  /** The socket closed: every operation stops. */
  closed(): void {
    if (this.initTimer) clearTimeout(this.initTimer);
    this.initTimer = null;
    const operations = this.operations;
    this.operations = null;
    for (const operation of operations?.values() ?? []) operation?.stop();
  }

  /** Ends the connection (a revoked token, an overloaded subscription, a protocol error). */
  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  send(data: string | Buffer): void {
    const socket = this.socket;
    if (socket.readyState === socket.OPEN) socket.send(data, TEXT_FRAME);
  }

  /** The client's id for an operation, if this connection still runs it. */
  runs(id: string, operation: Operation | null): boolean {
    return this.operations?.get(id) === operation;
  }

  /** The operation is over (completed by the server, or refused): forget it, and say so if asked. */
  finish(id: string, operation: Operation | null, notify: boolean): void {
    if (!this.runs(id, operation)) return;
    this.operations!.delete(id);
    if (notify) this.send(stringifyMessage({ id, type: MessageType.Complete }));
  }

  initTimedOut(): void {
    this.initTimer = null;
    if (!this.initReceived) this.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
  }

  private async handle(data: string): Promise<void> {
    let message;
    try {
      message = parseMessage(data);
    } catch {
      return this.close(CloseCode.BadRequest, 'Invalid message received');
    }
    switch (message.type) {
      case MessageType.ConnectionInit: {
        if (this.initReceived) return this.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
        this.initReceived = true;
        if (this.initTimer) clearTimeout(this.initTimer);
        this.initTimer = null;
        const params = (message.payload ?? {}) as Record<string, unknown>;
        const token = bearerToken(params.authorization ?? params.Authorization);
        const { viewer } = await this.deps.abuseLimits.authenticate(this.deps.auth.authenticate, token, this.address);
        if (!viewer) return this.close(CloseCode.Forbidden, 'Forbidden');
        this.viewer = viewer;
        if (viewer.tokenId && token) this.credential = { token, tokenId: viewer.tokenId, validUntil: viewer.validUntil ?? null };
        this.acknowledged = true;
        return this.send(ACK);
      }
      case MessageType.Ping:
        return this.send(message.payload ? stringifyMessage({ type: MessageType.Pong, payload: message.payload }) : PONG);
      case MessageType.Pong:
        return;
      case MessageType.Subscribe: {
        if (!this.acknowledged) return this.close(CloseCode.Unauthorized, 'Unauthorized');
        const operations = (this.operations ??= new Map());
        if (operations.has(message.id)) return this.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${message.id} already exists`);
        operations.set(message.id, null);
        return this.subscribe(message.id, message.payload);
      }
      case MessageType.Complete: {
        const operation = this.operations?.get(message.id);
        this.operations?.delete(message.id);
        operation?.stop();
        return;
      }
      default:
        // A server-to-client message type from the client.
        return this.close(CloseCode.BadRequest, 'Invalid message received');
    }
  }

  private async subscribe(id: string, payload: SubscribePayload): Promise<void> {
    // This one is already counted in.
    if (this.operations!.size > MAX_OPERATIONS_PER_CONNECTION) {
      return this.refuse(id, [toCodedError(new BadUserInputError({ subscribe: `at most ${MAX_OPERATIONS_PER_CONNECTION} operations may run at once on one connection` }))!]);
    }
    const { schema, execute, subscribe, contextFactory, parse, validate } = this.deps.yoga.getEnveloped({
      socket: this.socket,
      params: payload,
      wsViewer: this.viewer,
    });
    let document;
    try {
      document = parse(payload.query);
    } catch (error) {
      return this.refuse(id, [toCodedError(error) ?? (error as GraphQLError)]);
    }
    const errors = validate(schema, document);
    if (errors.length) return this.refuse(id, errors);
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return this.refuse(id, [new GraphQLError('Unable to identify operation')]);
    const args: ExecutionArgs = { schema, operationName: payload.operationName, document, variableValues: payload.variables };

    if (operation.operation !== 'subscription') {
      const result = (await execute({ ...args, contextValue: await contextFactory() })) as ExecutionResult | AsyncIterable<ExecutionResult>;
      if (Symbol.asyncIterator in result) {
        for await (const part of result) if (this.runs(id, null)) this.next(id, part);
      } else if (this.runs(id, null)) this.next(id, result);
      return this.finish(id, null, true);
    }

    const sink = new Operation(this, id);
    // Only the first subscriber of a shared execution needs a context and runs it.
    const start = async () => subscribe({ ...args, contextValue: await contextFactory() }) as never;
    const key = this.deps.shareKey(args, this.viewer!);
    if (!this.runs(id, null)) return; // completed by the client, or the socket closed, meanwhile
    this.operations!.set(id, sink);
    sink.subscriber = this.deps.hub.subscribe(key, start, sink);
  }

  private next(id: string, result: ExecutionResult): void {
    this.send(Buffer.concat([Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`), serializeResult(result), FRAME_END]));
  }

  private refuse(id: string, errors: readonly GraphQLError[]): void {
    if (!this.runs(id, null)) return;
    this.send(stringifyMessage({ id, type: MessageType.Error, payload: errors.map((e) => e.toJSON()) }));
    this.operations!.delete(id);
  }
}

function closeUninitialised(connection: Connection) {
  connection.initTimedOut();
}

const FRAME_END = Buffer.from('}');
const TEXT_FRAME = { binary: false };

/** A running subscription: writes shared, already serialized results as graphql-ws `next` messages. */
class Operation implements SubscriberSink {
  /** Its place in the hub, once joined. */
  subscriber: Subscriber | null = null;
  private readonly frames: FrameWriter;

  constructor(
    private readonly connection: Connection,
    private readonly id: string,
  ) {
    this.frames = new FrameWriter(Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`));
  }

  write(payload: Buffer): void {
    const socket = this.connection.socket;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return socket.close(CLOSE_SLOW_CONSUMER, 'Too slow: resubscribe from your last cursor');
    this.frames.write(socket, payload, FRAME_END);
  }

  overloaded(): void {
    this.connection.close(CLOSE_OVERLOADED, 'Overloaded: resubscribe from your last cursor');
  }

  async ready(): Promise<void> {
    const socket = this.connection.socket;
    while (socket.readyState === socket.OPEN && socket.bufferedAmount > PACED_BUFFERED_BYTES) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  end(): void {
    this.connection.finish(this.id, this, true);
  }

  /** The client completed it, or the connection closed. */
  stop(): void {
    this.subscriber?.leave();
  }
}

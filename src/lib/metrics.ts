/**
 * Prometheus metrics: one registry per app instance (tests run many apps in one process). Counters
 * and histograms are moved where things happen (GraphQL, webhooks, provider calls); gauges that
 * describe state (sessions by status, the outbox, live connections) are read when scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const PREFIX = 'whatsapp_graphql_';

/** State read at scrape time; each source is optional (set once the app has it). */
export interface MetricsSources {
  sessionsByStatus?: () => Promise<Record<string, number>>;
  outbox?: () => Promise<{ depth: number; oldestPendingAgeSeconds: number }>;
  live?: () => { connections: number; subscriptions: number };
}

/** Every outcome a provider call may have besides success: the ProviderError codes. */
export interface ProviderCallObservation {
  method: string;
  /** The path template (`/whatsapp-sessions/{sessionId}/connect`): never ids, numbers or keys. */
  endpoint: string;
  /** The HTTP status; 0 when no answer came (timeout, network). */
  status: number;
  seconds: number;
}

/**
 * The process's own figures (CPU, memory, event loop, GC) are one set per process: collected once
 * into a registry every app shares, since their collectors (GC observers, the event-loop monitor)
 * live as long as the process and would pile up with every app a test process starts.
 */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: PREFIX });
  }
  return processRegistry;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  const registers = [registry];
  let sources: MetricsSources = {};

  const graphqlOperations = new Counter({
    name: `${PREFIX}graphql_operations_total`,
    help: 'GraphQL operations executed, by operation name, type and outcome (ok, or the first error code).',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers,
  });
  const graphqlDuration = new Histogram({
    name: `${PREFIX}graphql_operation_duration_seconds`,
    help: 'Time to execute a GraphQL query or mutation (subscriptions: time to start), by operation name, type and outcome.',
    labelNames: ['operation', 'type', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const webhookEvents = new Counter({
    name: `${PREFIX}webhook_events_total`,
    help: 'Provider webhooks received, by event kind and outcome (stored, duplicate, invalid, unknown_session, bad_signature, too_large, error).',
    labelNames: ['event', 'outcome'] as const,
    registers,
  });
  const webhookLag = new Histogram({
    name: `${PREFIX}webhook_lag_seconds`,
    help: 'From the provider\'s envelope timestamp to our receiving the webhook.',
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
    registers,
  });
  const providerCalls = new Counter({
    name: `${PREFIX}provider_calls_total`,
    help: 'Calls (attempts) to the provider API, by method, path template and HTTP status (0: no answer).',
    labelNames: ['method', 'endpoint', 'status'] as const,
    registers,
  });
  const providerDuration = new Histogram({
    name: `${PREFIX}provider_call_duration_seconds`,
    help: 'Latency of provider API calls (attempts), by method, path template and HTTP status.',
    labelNames: ['method', 'endpoint', 'status'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers,
  });

  new Gauge({
    name: `${PREFIX}sessions`,
    help: 'Sessions by status (read from the database when scraped).',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      if (!sources.sessionsByStatus) return;
      const counts = await sources.sessionsByStatus();
      this.reset();
      for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
    },
  });
  new Gauge({
    name: `${PREFIX}outbox_depth`,
    help: 'Sends waiting in the outbox (queued or being sent).',
    registers,
    async collect() {
      if (sources.outbox) this.set((await sources.outbox()).depth);
    },
  });
  new Gauge({
    name: `${PREFIX}outbox_oldest_pending_age_seconds`,
    help: 'Age of the oldest send still waiting in the outbox; 0 when it is empty.',
    registers,
    async collect() {
      if (sources.outbox) this.set((await sources.outbox()).oldestPendingAgeSeconds);
    },
  });
  new Gauge({
    name: `${PREFIX}websocket_connections`,
    help: 'Open GraphQL WebSocket connections.',
    registers,
    collect() {
      if (sources.live) this.set(sources.live().connections);
    },
  });
  new Gauge({
    name: `${PREFIX}active_subscriptions`,
    help: 'Active GraphQL subscriptions over WebSocket (subscribers, shared executions counted per subscriber).',
    registers,
    collect() {
      if (sources.live) this.set(sources.live().subscriptions);
    },
  });

  // Merged once every metric above exists (a merge copies the registries' metrics as they are).
  const exposed = opts.defaultMetrics === false ? registry : Registry.merge([processMetrics(), registry]);

  return {
    registry: exposed,
    contentType: registry.contentType,
    /** The exposition text. */
    render: () => exposed.metrics(),
    setSources(more: MetricsSources) {
      sources = { ...sources, ...more };
    },
    graphqlOperation(labels: { operation: string; type: string; outcome: string }, seconds: number) {
      graphqlOperations.inc(labels);
      graphqlDuration.observe(labels, seconds);
    },
    webhookEvent(event: string, outcome: string) {
      webhookEvents.inc({ event, outcome });
    },
    webhookLag(seconds: number) {
      if (Number.isFinite(seconds) && seconds >= 0) webhookLag.observe(seconds);
    },
    providerCall(o: ProviderCallObservation) {
      const labels = { method: o.method, endpoint: o.endpoint, status: String(o.status) };
      providerCalls.inc(labels);
      providerDuration.observe(labels, o.seconds);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

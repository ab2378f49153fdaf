// Prometheus metrics (prom-client) on a registry of this app's own, so several apps in one process
// (the tests) never share counters. Job counts by status come from the database at scrape time
// (every instance sees the same numbers); the rest is this instance's.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchStore, EventBatch } from '../jobs/event-writer.js';

export interface MetricsSources {
  /** Jobs in the database by status (all instances). */
  jobsByStatus(): Promise<Record<string, number>>;
  /** Jobs this instance runs now. */
  running(): number;
  /** Jobs waiting in this instance's queue. */
  queued(): number;
  /** This instance's database connection pool. */
  pool?(): { total: number; idle: number; waiting: number };
}

export class Metrics {
  readonly registry = new Registry();
  private readonly outputBytes: Counter;
  private readonly dbWrite: Histogram;
  private sockets: () => number = () => 0;

  constructor(sources: MetricsSources, opts: { instanceId: string }) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ instance_id: opts.instanceId });
    collectDefaultMetrics({ register: this.registry, prefix: 'vmo_' });
    new Gauge({
      name: 'vmo_jobs',
      help: 'Jobs stored in the database, by status (all instances)',
      labelNames: ['status'],
      registers,
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries(await sources.jobsByStatus()))
          this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'vmo_jobs_running',
      help: 'Jobs running on this instance',
      registers,
      collect() {
        this.set(sources.running());
      },
    });
    new Gauge({
      name: 'vmo_jobs_queued',
      help: "Jobs waiting in this instance's queue (maxConcurrent, @exclusive, fan-out limits)",
      registers,
      collect() {
        this.set(sources.queued());
      },
    });
    const pool = sources.pool?.bind(sources);
    if (pool) {
      new Gauge({
        name: 'vmo_db_pool_connections',
        help: "Connections in this instance's database pool, by state (busy, idle)",
        labelNames: ['state'],
        registers,
        collect() {
          const p = pool();
          this.set({ state: 'busy' }, p.total - p.idle);
          this.set({ state: 'idle' }, p.idle);
        },
      });
      new Gauge({
        name: 'vmo_db_pool_waiting',
        help: 'Queries waiting for a free connection of the pool',
        registers,
        collect() {
          this.set(pool().waiting);
        },
      });
    }
    const sockets = () => this.sockets();
    new Gauge({
      name: 'vmo_socket_clients',
      help: "Socket.io clients connected to this instance's /jobs namespace",
      registers,
      collect() {
        this.set(sockets());
      },
    });
    this.outputBytes = new Counter({
      name: 'vmo_output_bytes_total',
      help: 'Bytes of job output (UTF-8) this instance committed to the database',
      registers,
    });
    this.dbWrite = new Histogram({
      name: 'vmo_db_write_seconds',
      help: 'Time to commit one group of job events (one statement, all jobs with output ready)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  /** The event store with its commits timed and its bytes counted. */
  instrument(store: BatchStore): BatchStore {
    return {
      appendMany: async (batches: EventBatch[]) => {
        const end = this.dbWrite.startTimer();
        await store.appendMany(batches);
        end();
        this.outputBytes.inc(batches.reduce((n, b) => n + b.addBytes, 0));
      },
      stored: (batch) => store.stored(batch),
    };
  }

  countSockets(fn: () => number): void {
    this.sockets = fn;
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

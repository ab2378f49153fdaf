import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Realtime, type JobsSocket } from './connection.svelte.js';

/** Just enough of a socket.io client socket to drive Realtime's state machine by hand. */
class FakeSocket {
  active = true;
  connected = false;
  connects = 0;
  #handlers = new Map<string, ((arg: unknown) => void)[]>();

  on(event: string, handler: (arg: unknown) => void) {
    this.#handlers.set(event, [...(this.#handlers.get(event) ?? []), handler]);
    return this;
  }
  emit(event: string, arg?: unknown) {
    for (const handler of this.#handlers.get(event) ?? []) handler(arg);
  }
  removeAllListeners() {
    this.#handlers.clear();
    return this;
  }
  connect() {
    this.connects += 1;
    this.active = true;
    return this;
  }
  disconnect() {
    this.active = false;
    return this;
  }
}

function setup() {
  const socket = new FakeSocket();
  const onRefused = vi.fn();
  const realtime = new Realtime({
    onRefused,
    retryAfterOutageMs: 1000,
    open: () => socket as unknown as JobsSocket,
  });
  return { socket, onRefused, realtime };
}

describe(Realtime.name, () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('goes connecting → connected → reconnecting on a drop, and back', () => {
    const { socket, realtime } = setup();
    realtime.connect();
    expect(realtime.state).toBe('connecting');
    socket.emit('connect');
    expect(realtime.state).toBe('connected');
    socket.emit('disconnect', 'transport close');
    expect(realtime.state).toBe('reconnecting');
    socket.emit('connect');
    expect(realtime.state).toBe('connected');
  });

  it('says reconnecting when the first attempts fail while socket.io keeps trying', () => {
    const { socket, realtime } = setup();
    realtime.connect();
    socket.emit('connect_error', new Error('xhr poll error'));
    expect(realtime.state).toBe('reconnecting');
    expect(realtime.lastError).toBe('xhr poll error');
  });

  it('goes offline and tells its owner when the server refuses the handshake', () => {
    const { socket, onRefused, realtime } = setup();
    realtime.connect();
    socket.active = false;
    socket.emit('connect_error', new Error('UNAUTHENTICATED'));
    expect(realtime.state).toBe('offline');
    expect(onRefused).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(60_000);
    expect(socket.connects).toBe(0);
  });

  it('retries by itself after a refusal for a database outage', () => {
    const { socket, realtime } = setup();
    realtime.connect();
    socket.active = false;
    socket.emit('connect_error', new Error('DB_UNAVAILABLE'));
    vi.advanceTimersByTime(1000);
    expect(socket.connects).toBe(1);
    expect(realtime.state).toBe('connecting');
  });

  it('disconnect() closes the socket, cancels a pending retry and returns to idle', () => {
    const { socket, realtime } = setup();
    const dispose = realtime.connect();
    socket.active = false;
    socket.emit('connect_error', new Error('DB_UNAVAILABLE'));
    dispose();
    vi.advanceTimersByTime(5000);
    expect(socket.connects).toBe(0);
    expect(realtime.state).toBe('idle');
    expect(realtime.socket).toBeNull();
  });
});

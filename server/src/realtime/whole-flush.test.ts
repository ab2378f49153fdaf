// A real socket.io server and client on loopback: the frames of what one run emits leave in one write.
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFlushesWhole } from './whole-flush.js';

describe(writeFlushesWhole.name, () => {
  const open: (() => void)[] = [];
  afterEach(() => {
    for (const close of open.splice(0)) close();
    vi.restoreAllMocks();
  });

  /** Writes to the kernel by the server's sockets while `count` binary events are sent and received. */
  async function writesFor(count: number, whole: boolean): Promise<number> {
    const http = createServer();
    const io = new Server(http);
    if (whole) writeFlushesWhole(io);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const client = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, {
      transports: ['websocket'],
    });
    open.push(() => (client.close(), void io.close()));
    const [server] = await Promise.all([
      new Promise<import('socket.io').Socket>((r) => io.on('connection', r)),
      new Promise<void>((r) => client.on('connect', () => r())),
    ]);
    const got: string[] = [];
    const all = new Promise((r) =>
      client.on(
        'bytes',
        (e: { data: Buffer }) => got.push(Buffer.from(e.data).toString()) === count && r(got),
      ),
    );
    // A net.Socket hands each write to the kernel through _write, or several at once through _writev.
    const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', () => void>;
    const single = vi.spyOn(proto, '_write');
    const vector = vi.spyOn(proto, '_writev');
    const lines = Array.from({ length: count }, (_, i) => `line ${i + 1}\n`);
    lines.forEach((line, i) => server.emit('bytes', { seq: i + 1, data: Buffer.from(line) }));
    await all;
    expect(got).toEqual(lines);
    const writes = single.mock.calls.length + vector.mock.calls.length;
    single.mockRestore();
    vector.mockRestore();
    return writes;
  }

  it('sends the packet and its attachment in one write, where ws alone makes two', async () => {
    expect(await writesFor(1, false)).toBe(2);
    expect(await writesFor(1, true)).toBe(1);
  });

  it('sends the events emitted in one run in one write, in order', async () => {
    expect(await writesFor(5, false)).toBeGreaterThan(2);
    expect(await writesFor(5, true)).toBe(1);
  });
});

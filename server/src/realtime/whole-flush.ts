// One write per burst of packets to a socket. A binary socket.io event is two engine.io packets
// (the event, then its attachment), each flushed on its own, and ws writes each frame with a
// syscall of its own, which on loopback also wakes the reader: with a thousand small events a
// second, socket writes were the top of the server's profile. Here the packets a socket is given in
// one synchronous run (an event and its attachment; the events of several jobs committed together)
// are flushed once, at the end of that run, and the frames of that flush leave in one writev.
import type { Server } from 'socket.io';

interface Corkable {
  cork(): void;
  uncork(): void;
}
interface Transport {
  name: string;
  send(packets: unknown[]): void;
  /** ws's WebSocket, whose `_socket` is the TCP socket (not in its typings). */
  socket?: { _socket?: Corkable };
}
interface EngineSocket {
  transport: Transport;
  flush(): void;
  on(event: 'upgrade', listener: (transport: Transport) => void): void;
}

export function writeFlushesWhole(io: Server): void {
  io.engine.on('connection', (conn: EngineSocket) => {
    const flush = conn.flush.bind(conn);
    let due = false;
    conn.flush = () => {
      if (due) return;
      due = true;
      process.nextTick(() => {
        due = false;
        flush();
      });
    };
    corkSends(conn.transport);
    conn.on('upgrade', corkSends);
  });
}

/** A websocket transport's `send` writes its frames corked: one writev for them all. */
function corkSends(transport: Transport): void {
  const tcp = transport.socket?._socket;
  if (transport.name !== 'websocket' || typeof tcp?.cork !== 'function') return;
  const send = transport.send.bind(transport);
  transport.send = (packets) => {
    tcp.cork();
    try {
      send(packets);
    } finally {
      tcp.uncork();
    }
  };
}

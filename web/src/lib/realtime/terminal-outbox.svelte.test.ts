import type { Ack } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { TerminalOutbox, type TerminalOp } from './terminal-outbox.svelte.js';

/** A send whose acks the test gives by hand, one at a time. */
function manualSend() {
  const sent: TerminalOp[] = [];
  const acks: ((res: Ack) => void)[] = [];
  const send = (op: TerminalOp) => {
    sent.push(structuredClone(op));
    return new Promise<Ack>((resolve) => acks.push(resolve));
  };
  const ack = async (res: Ack = { ok: true }) => {
    acks.shift()!(res);
    await new Promise((r) => setTimeout(r, 0));
  };
  return { sent, send, ack };
}

describe(TerminalOutbox.name, () => {
  it('sends one message at a time, in order, batching keys typed meanwhile', async () => {
    const { sent, send, ack } = manualSend();
    const outbox = new TerminalOutbox(send);
    outbox.input('d');
    for (const key of ['a', 'n', 'a']) outbox.input(key);
    outbox.resize(80, 24);
    outbox.resize(70, 20);
    outbox.input('\r');
    expect(sent).toEqual([{ kind: 'input', data: 'd' }]);
    await ack();
    await ack();
    await ack();
    expect(sent).toEqual([
      { kind: 'input', data: 'd' },
      { kind: 'input', data: 'ana' },
      { kind: 'resize', cols: 70, rows: 20 },
      { kind: 'input', data: '\r' },
    ]);
  });

  it('says why a message was refused, until one goes through', async () => {
    const { send, ack } = manualSend();
    const outbox = new TerminalOutbox(send);
    outbox.input('x');
    await ack({ ok: false, error: { code: 'FORBIDDEN', message: 'not yours' } });
    expect(outbox.error).toBe('not yours');
    outbox.input('y');
    await ack();
    expect(outbox.error).toBeNull();
  });
});

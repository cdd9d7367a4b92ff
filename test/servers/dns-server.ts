/**
 * A minimal DNS server (RFC 1035, UDP) for nginx's `resolver`: A queries for names under `suffix`
 * answer `address`; anything else is NXDOMAIN. Lets the real nginx resolve the Blob object hosts.
 */
import { createSocket } from 'node:dgram';

export interface DnsServer {
  port: number;
  /** Names asked for, in order. */
  queries: string[];
  close(): Promise<void>;
}

export async function startDnsServer(suffix: string, address: string): Promise<DnsServer> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (message, peer) => {
    if (message.length < 12) return;
    // Question: labels from byte 12, then QTYPE and QCLASS.
    const labels: string[] = [];
    let offset = 12;
    while (offset < message.length && message[offset] !== 0) {
      const length = message[offset]!;
      labels.push(message.subarray(offset + 1, offset + 1 + length).toString('latin1'));
      offset += length + 1;
    }
    const questionEnd = offset + 5;
    const name = labels.join('.').toLowerCase();
    const type = message.readUInt16BE(offset + 1);
    queries.push(name);
    const known = name.endsWith(suffix);
    const answer = known && type === 1;
    const header = Buffer.alloc(12);
    message.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); // response, recursion available, NXDOMAIN if unknown
    header.writeUInt16BE(1, 4); // one question
    header.writeUInt16BE(answer ? 1 : 0, 6);
    const question = message.subarray(12, questionEnd);
    const parts = [header, question];
    if (answer) {
      const record = Buffer.alloc(16);
      record.writeUInt16BE(0xc00c, 0); // name: pointer to the question
      record.writeUInt16BE(1, 2); // A
      record.writeUInt16BE(1, 4); // IN
      record.writeUInt32BE(30, 6); // TTL
      record.writeUInt16BE(4, 10);
      address.split('.').forEach((octet, index) => record.writeUInt8(Number(octet), 12 + index));
      parts.push(record);
    }
    socket.send(Buffer.concat(parts), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

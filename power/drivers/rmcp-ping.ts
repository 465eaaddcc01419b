// ASF/RMCP presence ping (DSP0136): asks "is there an IPMI BMC at this UDP address?" without credentials.
// Used to tell a refused session (the BMC answers the ping: credentials, privilege or cipher) from a BMC that
// is not there, which ipmitool reports in the same words.
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

const ASF_IANA = [0x00, 0x00, 0x11, 0xbe];
const PRESENCE_PING = 0x80;
const PRESENCE_PONG = 0x40;

export function presencePingPacket(tag: number): Buffer {
  // RMCP header: version 6, reserved, sequence 0xff (no RMCP ack), class 6 (ASF); then the ASF message.
  return Buffer.from([0x06, 0x00, 0xff, 0x06, ...ASF_IANA, PRESENCE_PING, tag & 0xff, 0x00, 0x00]);
}

export function isPresencePong(packet: Buffer, tag: number): boolean {
  return (
    packet.length >= 12 &&
    packet[0] === 0x06 &&
    packet[3] === 0x06 &&
    ASF_IANA.every((byte, index) => packet[4 + index] === byte) &&
    packet[8] === PRESENCE_PONG &&
    packet[9] === (tag & 0xff)
  );
}

/** Resolves true when a pong arrives within `timeoutMs` (a ping is sent every 250 ms), false otherwise. */
export function rmcpPresencePing(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const tag = Math.floor(Math.random() * 255);
    let settled = false;
    const finish = (answered: boolean): void => {
      if (settled) return;
      settled = true;
      clearInterval(resend);
      clearTimeout(giveUp);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      resolve(answered);
    };
    const onAbort = (): void => finish(false);
    const send = (): void => {
      socket.send(presencePingPacket(tag), port, host, (error) => {
        if (error) finish(false);
      });
    };
    socket.on('message', (packet) => {
      if (isPresencePong(packet, tag)) finish(true);
    });
    socket.on('error', () => finish(false));
    const resend = setInterval(send, 250);
    const giveUp = setTimeout(() => finish(false), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    send();
  });
}

// UDP sockets for the server and its transfers.
import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';

/**
 * Every send names the client by IP address; dgram would still resolve it through dns.lookup and a
 * nextTick per packet. Answering literals at once takes that off the per-block path.
 */
const resolveLiteralAddressesAtOnce: SocketOptions['lookup'] = (hostname, options, callback) => {
  const family = isIP(hostname);
  if (family === 0) dnsLookup(hostname, options, callback);
  else callback(null, hostname, family);
};

export function createUdpSocket(address: string): Socket {
  return createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', lookup: resolveLiteralAddressesAtOnce });
}

/** A socket bound to address:port (0: any free port). */
export function bindUdpSocket(address: string, port: number, exclusive = false): Promise<Socket> {
  const socket = createUdpSocket(address);
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', onError);
    socket.bind({ port, address, exclusive }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

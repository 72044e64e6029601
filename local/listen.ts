/** Starting a local emulator's HTTP server: listen, and say where (its origin, an IPv6 address in brackets). */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on `host:port` (0: any free port); rejects when the port cannot be had. */
export async function listenOn(server: Server, port: number, host: string): Promise<{ readonly origin: string; readonly port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { origin: `http://${shown}:${address.port}`, port: address.port };
}

// The routes that need no bearer token, and why. Every other route names the role it needs in its config
// (api/auth.ts refuses to register a route that does neither). Machines on the provisioning network have no
// token: what they fetch is public, and what they call back with carries its own single-use token.
// Webhook receivers that authenticate themselves belong here too, with how they do it.

export interface PublicRoute {
  method: 'GET' | 'POST' | 'OPTIONS';
  url: string;
  why: string;
}

export const PUBLIC_ROUTES: readonly PublicRoute[] = [
  { method: 'GET', url: '/healthz', why: 'monitoring and load balancers probe it; it tells nothing secret' },
  { method: 'GET', url: '/boot/ipxe/:mac', why: 'a network-booting machine fetches its iPXE script' },
  { method: 'GET', url: '/boot/autoinstall/:system', why: 'an installer fetches its autoinstall file' },
  { method: 'GET', url: '/boot/autoinstall/:system/user-data', why: "cloud-init's nocloud-net data source" },
  { method: 'GET', url: '/boot/autoinstall/:system/meta-data', why: "cloud-init's nocloud-net data source" },
  { method: 'GET', url: '/boot/files/*', why: 'kernels and initrds for iPXE and GRUB (the TFTP root, read-only)' },
  ...(['started', 'finished', 'failed'] as const).flatMap((phase) =>
    (['GET', 'POST'] as const).map((method) => ({ method, url: `/boot/status/:system/${phase}`, why: "an installer's status callback, authenticated by its install token" })),
  ),
  { method: 'POST', url: '/boot/rescue/:token/ready', why: "a rescue environment's phone-home, authenticated by its one-time token" },
  { method: 'GET', url: '/codec/login', why: 'a static page where a browser user pastes a token for the codec (it posts it to /codec/session, which needs a viewer token)' },
  ...(['/codec/encode', '/codec/decode'] as const).map((url) => ({
    method: 'OPTIONS' as const,
    url,
    why: "the browser's CORS preflight before the Temporal UI calls the codec: it carries no credentials (Fetch standard) and answers only which origins, methods and headers may follow",
  })),
];

/** Public only when the operator says so (RESCUED_METRICS_PUBLIC=true); otherwise it needs a viewer token. */
export const METRICS_ROUTE: PublicRoute = { method: 'GET', url: '/metrics', why: 'RESCUED_METRICS_PUBLIC=true: Prometheus scrapes it without a token; it holds counts, never names or secrets' };

/** Fastify adds a HEAD route beside every GET route; it is public when its GET is. `alsoPublic`: routes this server made public by configuration. */
export function isPublicRoute(method: string, url: string, alsoPublic: readonly PublicRoute[] = []): boolean {
  const asked = method === 'HEAD' ? 'GET' : method;
  return [...PUBLIC_ROUTES, ...alsoPublic].some((route) => route.method === asked && route.url === url);
}

// What each machine network-boots, resolved from the inventory at the moment it asks: a rescue or
// install override if one is in force, else its profile's installer when netboot is enabled, else its
// local disk. Also the autoinstall file for a system, rendered from its profile's template.
import type { Inventory } from '../db/inventory.js';
import type { ProfileView, SystemView } from '../inventory/schemas.js';
import { normalizeMac } from '../inventory/mac.js';
import { InventoryError } from '../inventory/errors.js';
import type { BootTarget, BootUrls, KernelBootTarget } from './boot-target.js';
import { formatKernelOptions, mergeKernelOptions } from './kernel-options.js';
import { autoinstallKernelArgument } from './autoinstall.js';
import { renderTemplate, usesPartials } from './templates.js';
import { REDACTED } from '../secrets/redact.js';

/** How long an install token works after the machine first fetched its autoinstall file (RESCUED_INSTALL_TOKEN_HOURS). */
export const DEFAULT_INSTALL_TOKEN_LIFETIME_MS = 6 * 3600_000;

export interface NetbootDependencies {
  inventory: Inventory;
  urls: BootUrls;
  installTokenLifetimeMs?: number;
}

/** Who a boot config or autoinstall file is rendered for: the machine gets its tokens, an operator's preview never does. */
export type RenderAudience = 'machine' | 'preview';

export interface ResolvedProfile {
  chain: ProfileView[];
  distro: Awaited<ReturnType<Inventory['distros']['get']>>;
}

export function createNetbootService({ inventory, urls, installTokenLifetimeMs = DEFAULT_INSTALL_TOKEN_LIFETIME_MS }: NetbootDependencies) {
  async function resolveProfile(name: string): Promise<ResolvedProfile> {
    const chain: ProfileView[] = [];
    let current: ProfileView | undefined = await inventory.profiles.get(name);
    while (current !== undefined && chain.length < 16) {
      chain.push(current);
      current = current.parent === null ? undefined : await inventory.profiles.get(current.parent);
    }
    return { chain, distro: await inventory.distros.get(chain[0]!.effectiveDistro) };
  }

  function autoinstallUrl(system: string): string {
    return `${urls.httpBase}/boot/autoinstall/${encodeURIComponent(system)}`;
  }

  function primaryMac(system: SystemView): string {
    return system.interfaces[0]?.mac ?? '';
  }

  async function installTarget(system: SystemView, mac: string): Promise<KernelBootTarget> {
    const { chain, distro } = await resolveProfile(system.profile);
    const template = chain.find((p) => p.autoinstall !== null)?.autoinstall ?? null;
    const layers = [distro.kernelOptions, ...chain.map((p) => p.kernelOptions).reverse(), system.kernelOptions];
    if (template !== null) {
      const { kind } = await inventory.templates.get(template);
      layers.push(autoinstallKernelArgument(distro.breed, kind, autoinstallUrl(system.name)));
    }
    return { kind: 'install' as const, system: system.name, mac, label: system.profile, kernel: distro.kernel, initrd: distro.initrd, append: formatKernelOptions(mergeKernelOptions(...layers)) };
  }

  async function targetForSystem(system: SystemView, mac: string, audience: RenderAudience): Promise<BootTarget> {
    const override = await inventory.boot.override(system.name);
    if (override !== undefined) {
      const append = audience === 'machine' ? override.append : override.shownAppend;
      return { kind: override.kind, system: system.name, mac, label: override.label, kernel: override.kernel, initrd: override.initrd, append };
    }
    if (!system.netbootEnabled) return { kind: 'local', system: system.name, mac };
    return installTarget(system, mac);
  }

  return {
    urls,
    resolveProfile,
    /**
     * What the machine with this MAC boots, as the machine gets it (with its tokens). Unknown MACs get a
     * local-disk target: a machine we do not know is never installed over. `fetchedFrom`: the address of
     * the client asking, noted on a rescue's handshake (its phone-home must come from there).
     */
    async targetForMac(mac: string, fetchedFrom?: string): Promise<BootTarget> {
      const normalized = normalizeMac(mac);
      const system = await inventory.systems.findByMac(normalized);
      if (system === undefined) return { kind: 'local', system: undefined, mac: normalized };
      const target = await targetForSystem(system, normalized, 'machine');
      if (target.kind === 'rescue' && fetchedFrom !== undefined) await inventory.rescues.noteBootScriptFetch(normalized, fetchedFrom);
      return target;
    },
    /** What installing the system's profile boots, for a reinstall's one-time override. */
    async installTargetFor(name: string): Promise<KernelBootTarget> {
      const system = await inventory.systems.get(name);
      return installTarget(system, primaryMac(system));
    },
    /** What the system boots now, for an operator: its secrets (a rescue's token) masked. */
    async previewTargetForSystem(name: string): Promise<BootTarget> {
      const system = await inventory.systems.get(name);
      return targetForSystem(system, primaryMac(system), 'preview');
    },
    /** Profiles offered in the default menus, with their merged kernel options. */
    async menuEntries(): Promise<Array<{ name: string; kernel: string; initrd: string; append: string }>> {
      const entries = [];
      for (const profile of await inventory.profiles.list()) {
        try {
          const { chain, distro } = await resolveProfile(profile.name);
          entries.push({ name: profile.name, kernel: distro.kernel, initrd: distro.initrd, append: formatKernelOptions(mergeKernelOptions(distro.kernelOptions, ...chain.map((p) => p.kernelOptions).reverse())) });
        } catch {
          // A profile whose distro went missing is left out of the menu rather than breaking it.
        }
      }
      return entries;
    },
    /**
     * The system's autoinstall file. Errors name the template and the line. For the machine, the status
     * URLs carry its install's token (none when no install is expected: the callbacks are then refused);
     * a preview shows a placeholder instead.
     */
    async renderAutoinstall(systemName: string, audience: RenderAudience): Promise<{ kind: string; body: string }> {
      const system = await inventory.systems.get(systemName);
      const { chain, distro } = await resolveProfile(system.profile);
      const templateName = chain.find((p) => p.autoinstall !== null)?.autoinstall ?? null;
      if (templateName === null) throw new InventoryError('not-found', `system "${systemName}" has no autoinstall template (set one on its profile: rescuectl profile edit ${system.profile} --autoinstall NAME)`);
      const template = await inventory.templates.get(templateName);
      const repoNames = [...new Set(chain.flatMap((p) => p.repos))];
      const repos = await Promise.all(repoNames.map((name) => inventory.repos.get(name)));
      const token = audience === 'machine' ? ((await inventory.installTokens.tokenForMachine(system.name, installTokenLifetimeMs)) ?? '') : REDACTED;
      const statusBase = `${urls.httpBase}/boot/status/${encodeURIComponent(system.name)}`;
      const nic = system.interfaces[0];
      const variables = {
        system: { ...system, power: undefined },
        profile: chain[0],
        distro,
        repos: repos.map((r) => ({ name: r.name, mirror: r.mirror, arch: r.arch })),
        server: { http: urls.httpBase },
        hostname: nic?.hostname ?? system.name,
        mac: nic?.mac ?? '',
        ip: nic?.ip ?? '',
        autoinstall_url: autoinstallUrl(system.name),
        status_token: token,
        status_url_started: `${statusBase}/started?token=${token}`,
        status_url_finished: `${statusBase}/finished?token=${token}`,
      };
      // The inventory's other templates are the snippets `{% include "name" %}` may pull in (Cobbler's snippets),
      // read only for a template that includes something.
      const snippets = usesPartials(template.body)
        ? Object.fromEntries((await inventory.templates.list()).filter((t) => t.name !== template.name).map((t) => [t.name, t.body]))
        : {};
      return { kind: template.kind, body: renderTemplate(template, variables, snippets) };
    },
  };
}

export type NetbootService = ReturnType<typeof createNetbootService>;

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
import type { StatusTokens } from './status-tokens.js';

export interface NetbootDependencies {
  inventory: Inventory;
  urls: BootUrls;
  statusTokens: StatusTokens;
}

export interface ResolvedProfile {
  chain: ProfileView[];
  distro: Awaited<ReturnType<Inventory['distros']['get']>>;
}

export function createNetbootService({ inventory, urls, statusTokens }: NetbootDependencies) {
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

  async function targetForSystem(system: SystemView, mac: string): Promise<BootTarget> {
    const override = await inventory.boot.override(system.name);
    if (override !== undefined) {
      return { kind: override.kind, system: system.name, mac, label: override.label, kernel: override.kernel, initrd: override.initrd, append: override.append };
    }
    if (!system.netbootEnabled) return { kind: 'local', system: system.name, mac };
    return installTarget(system, mac);
  }

  return {
    urls,
    resolveProfile,
    /** Unknown MACs get a local-disk target: a machine we do not know is never installed over. */
    async targetForMac(mac: string): Promise<BootTarget> {
      const normalized = normalizeMac(mac);
      const system = await inventory.systems.findByMac(normalized);
      if (system === undefined) return { kind: 'local', system: undefined, mac: normalized };
      return targetForSystem(system, normalized);
    },
    /** What installing the system's profile boots, for a reinstall's one-time override. */
    async installTargetFor(name: string): Promise<KernelBootTarget> {
      const system = await inventory.systems.get(name);
      return installTarget(system, primaryMac(system));
    },
    async targetForSystemName(name: string): Promise<BootTarget> {
      const system = await inventory.systems.get(name);
      return targetForSystem(system, primaryMac(system));
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
    /** The system's autoinstall file. Errors name the template and the line. */
    async renderAutoinstall(systemName: string): Promise<{ kind: string; body: string }> {
      const system = await inventory.systems.get(systemName);
      const { chain, distro } = await resolveProfile(system.profile);
      const templateName = chain.find((p) => p.autoinstall !== null)?.autoinstall ?? null;
      if (templateName === null) throw new InventoryError('not-found', `system "${systemName}" has no autoinstall template (set one on its profile: rescuectl profile edit ${system.profile} --autoinstall NAME)`);
      const template = await inventory.templates.get(templateName);
      const repoNames = [...new Set(chain.flatMap((p) => p.repos))];
      const repos = await Promise.all(repoNames.map((name) => inventory.repos.get(name)));
      const token = statusTokens.tokenFor(system.name);
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

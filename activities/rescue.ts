// The rescue's activities: thin over the inventory, the netboot service, the handshake and the SSH
// shell. Nothing secret is returned to the workflow: the token and private key stay in the database.
import { Context, ApplicationFailure } from '@temporalio/activity';
import { connect } from 'node:net';
import { InventoryError } from '../inventory/errors.js';
import { selectRescueEnvironment } from '../rescue/selection.js';
import { createHandshakeSecrets, rescueKernelArguments } from '../rescue/handshake.js';
import { renderAutoinstallTemplate, TemplateRenderError } from '../boot/autoinstall.js';
import { formatKernelOptions, mergeKernelOptions } from '../boot/kernel-options.js';
import { macToBootFileSuffix } from '../inventory/mac.js';
import type { ActivityDependencies } from './dependencies.js';
import type { FindingSummary, MachineIdentity, StepRecord } from '../workflows/rescue-types.js';
import type { RescueSshEndpoint } from './rescue-shell.js';
import { isRetryableShellError, isShellError } from '../shell/errors.js';

/** Labels that tune a rescue per machine (documented in the README). */
export const RESCUE_LABELS = {
  reinstall: 'rescued.reinstall',
  sshEndpoint: 'rescued.ssh-endpoint',
  verify: 'rescued.verify',
} as const;

const HANDSHAKE_LIFETIME_MS = 6 * 3600_000;

function refuse(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** An SSH failure as a Temporal failure: a host key that does not match, or a refused key, is never retried. */
async function overSsh<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isShellError(error)) throw ApplicationFailure.create({ type: `SshError.${error.kind}`, message: error.message, nonRetryable: !isRetryableShellError(error.kind) });
    throw error;
  }
}

function parseHostPort(value: string, label: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  if (!match) throw refuse('RescueRefused', `label ${label}="${value}" is not host:port`);
  return { host: match[1]!, port: Number(match[2]) };
}

function tcpAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

export function createRescueActivities(dependencies: ActivityDependencies) {
  const { inventory, netboot, rescueShell, systemPower } = dependencies;

  async function sshEndpoint(handshakeId: string): Promise<RescueSshEndpoint> {
    const credentials = await inventory.rescues.sshCredentials(handshakeId);
    if (credentials === undefined) throw refuse('RescueRefused', `handshake ${handshakeId} has not phoned home`);
    const system = await inventory.systems.get(credentials.system);
    // Behind NAT (a lab, a bastion) the address the rescue environment saw is not the one we reach.
    const override = system.labels[RESCUE_LABELS.sshEndpoint];
    const target = override ? parseHostPort(override, RESCUE_LABELS.sshEndpoint) : { host: credentials.ip, port: credentials.port };
    return { host: target.host, port: target.port, hostKey: credentials.hostKey, privateKeyPem: credentials.privateKeyPem, system: credentials.system };
  }

  return {
    async identifyMachine(input: { system: string; workflowId: string; runId: string; reason: string; requestedBy: string }): Promise<MachineIdentity> {
      let system;
      try {
        system = await inventory.systems.get(input.system);
      } catch (error) {
        if (error instanceof InventoryError) throw refuse('RescueRefused', error.message);
        throw error;
      }
      const mac = system.interfaces[0]?.mac;
      if (mac === undefined) throw refuse('RescueRefused', `system "${input.system}" has no network interface to boot from`);
      try {
        await inventory.rescues.open({ workflowId: input.workflowId, runId: input.runId, system: input.system, reason: input.reason, requestedBy: input.requestedBy });
      } catch (error) {
        if (error instanceof InventoryError && error.kind === 'conflict') throw refuse('RescueRefused', error.message);
        throw error;
      }
      const profile = await inventory.profiles.get(system.profile);
      const previous = await inventory.installHistory.lastSuccessful(input.system);
      return {
        system: system.name,
        mac,
        arch: system.arch,
        firmware: system.firmware,
        osFamily: system.osFamily ?? null,
        osVersion: system.osVersion ?? null,
        policy: system.rescuePolicy ?? profile.effectiveRescuePolicy,
        previousInstall: previous ? { profile: previous.profile, distro: previous.distro, finishedAt: previous.finishedAt } : null,
        automaticReinstall: system.labels[RESCUE_LABELS.reinstall] === 'automatic',
      };
    },

    async selectRescueEnvironment(input: { system: string }): Promise<{ environment: string; reason: string }> {
      const system = await inventory.systems.get(input.system);
      const { chain, distro } = await netboot.resolveProfile(system.profile);
      const selection = selectRescueEnvironment(
        {
          name: system.name,
          arch: system.arch,
          firmware: system.firmware,
          osFamily: system.osFamily ?? distro.breed,
          osVersion: system.osVersion ?? distro.osVersion,
          pins: [{ source: `system ${system.name}`, environment: system.rescueEnvironment }, ...chain.map((p) => ({ source: `profile ${p.name}`, environment: p.rescueEnvironment }))],
        },
        await inventory.rescueEnvironments.list(),
      );
      if (!selection.ok) throw refuse('NoRescueEnvironment', selection.reason);
      return { environment: selection.environment, reason: selection.reason };
    },

    async pushRescueBootConfig(input: { system: string; environment: string; workflowId: string }): Promise<{ handshakeId: string }> {
      const system = await inventory.systems.get(input.system);
      const environment = await inventory.rescueEnvironments.get(input.environment);
      const mac = system.interfaces[0]!.mac;
      const secrets = createHandshakeSecrets(`rescued ${input.workflowId}`);
      await inventory.rescues.expireHandshakes(input.workflowId);
      const handshakeId = await inventory.rescues.createHandshake({ workflowId: input.workflowId, system: input.system, mac, secrets, expiresAt: new Date(Date.now() + HANDSHAKE_LIFETIME_MS) });
      let environmentArgs: string;
      try {
        environmentArgs = renderAutoinstallTemplate(`rescue-env ${environment.name} kernel args`, environment.kernelArgs, { system: { ...system, power: undefined }, mac, arch: system.arch, firmware: system.firmware });
      } catch (error) {
        if (error instanceof TemplateRenderError) throw refuse('RescueRefused', error.message);
        throw error;
      }
      const handshakeArgs = rescueKernelArguments({ callbackUrl: `${netboot.urls.httpBase}/boot/rescue/${secrets.token}/ready`, token: secrets.token, publicKey: secrets.publicKey });
      const append = formatKernelOptions(mergeKernelOptions(environmentArgs, `BOOTIF=${macToBootFileSuffix(mac)}`, handshakeArgs));
      await inventory.boot.setOverride({ system: input.system, kind: 'rescue', label: environment.name, kernel: environment.kernel, initrd: environment.initrd, append, owner: input.workflowId, expiresAt: new Date(Date.now() + HANDSHAKE_LIFETIME_MS) });
      await inventory.events.record({ kind: 'rescue.boot-config-pushed', objectType: 'system', objectName: input.system, actor: input.workflowId, detail: { environment: environment.name } });
      return { handshakeId };
    },

    async collectBootEvidence(input: { system: string; workflowId: string }): Promise<{ fetches: Array<{ at: string; protocol: string; file: string; outcome: string }>; summary: string }> {
      const fetches = (await inventory.boot.fetchesOf(input.system, { limit: 20 })).map((f) => ({ at: f.at, protocol: f.protocol, file: f.file, outcome: f.outcome }));
      const summary = fetches.length === 0 ? `no TFTP or HTTP fetch was seen from ${input.system} (is its network boot reaching this server?)` : `last fetches: ${fetches.slice(0, 5).map((f) => `${f.at} ${f.protocol} ${f.file} (${f.outcome})`).join('; ')}`;
      return { fetches, summary };
    },

    async diagnoseMachine(input: { workflowId: string; runId: string; handshakeId: string }): Promise<{ findings: FindingSummary[] }> {
      const context = Context.current();
      const outcome = await overSsh(() => sshEndpoint(input.handshakeId).then((endpoint) => rescueShell.diagnose(endpoint, () => context.heartbeat(), context.cancellationSignal)));
      await inventory.rescues.update(input.workflowId, input.runId, { diagnosis: outcome.report });
      return { findings: outcome.findings };
    },

    async repairMachine(input: { workflowId: string; runId: string; handshakeId: string }): Promise<{ findingsAfter: FindingSummary[]; changes: Array<{ playbook: string; subject: string; changed: boolean }> }> {
      const context = Context.current();
      const run = await inventory.rescues.get(input.workflowId, input.runId);
      const outcome = await overSsh(() => sshEndpoint(input.handshakeId).then((endpoint) => rescueShell.repair(endpoint, run.diagnosis ?? {}, () => context.heartbeat(), context.cancellationSignal)));
      await inventory.rescues.update(input.workflowId, input.runId, { diagnosis: outcome.after.report, repairs: outcome.changes });
      return { findingsAfter: outcome.after.findings, changes: outcome.changes.map(({ playbook, subject, changed }) => ({ playbook, subject, changed })) };
    },

    async pushInstallBootConfig(input: { system: string; profile: string; owner: string }): Promise<{ since: string }> {
      const system = await inventory.systems.get(input.system);
      if (system.profile !== input.profile) {
        await inventory.systems.update(input.system, { profile: input.profile }, { name: input.owner });
      }
      const target = await netboot.installTargetFor(input.system);
      const since = new Date().toISOString();
      await inventory.boot.setOverride({ system: input.system, kind: 'install', label: target.label, kernel: target.kernel, initrd: target.initrd, append: target.append, owner: input.owner, expiresAt: new Date(Date.now() + HANDSHAKE_LIFETIME_MS) });
      return { since };
    },

    async awaitInstallOutcome(input: { system: string; since: string; timeoutMs: number }): Promise<{ outcome: string; finishedAt: string | null }> {
      const context = Context.current();
      const deadline = Date.now() + input.timeoutMs;
      while (Date.now() < deadline) {
        context.heartbeat();
        const [latest] = await inventory.installHistory.list(input.system);
        if (latest !== undefined && Date.parse(latest.startedAt) >= Date.parse(input.since) - 1000 && latest.finishedAt !== null) {
          return { outcome: latest.outcome, finishedAt: latest.finishedAt };
        }
        await context.sleep(2000);
      }
      throw refuse('InstallTimeout', `the install on ${input.system} did not finish within ${Math.round(input.timeoutMs / 1000)} s`);
    },

    async clearRescueBootConfig(input: { system: string; workflowId: string }): Promise<{ removed: boolean }> {
      await inventory.rescues.expireHandshakes(input.workflowId);
      try {
        const removed = await inventory.boot.clearOverride(input.system, input.workflowId);
        if (removed) await inventory.events.record({ kind: 'rescue.boot-config-removed', objectType: 'system', objectName: input.system, actor: input.workflowId });
        return { removed };
      } catch (error) {
        // A system removed mid-rescue has no config left to remove.
        if (error instanceof InventoryError && error.kind === 'not-found') return { removed: false };
        throw error;
      }
    },

    async verifyMachineUp(input: { system: string; timeoutMs: number }): Promise<{ up: boolean; detail: string }> {
      const context = Context.current();
      const system = await inventory.systems.get(input.system);
      const method = system.labels[RESCUE_LABELS.verify] ?? (system.interfaces[0]?.ip ? `tcp:${system.interfaces[0].ip}:22` : 'power');
      const deadline = Date.now() + input.timeoutMs;
      if (method === 'none') return { up: true, detail: `not verified (label ${RESCUE_LABELS.verify}=none)` };
      if (method === 'power') {
        const state = await systemPower.status(input.system, context.cancellationSignal);
        return state.ok ? { up: state.value === 'on', detail: `BMC reports power ${state.value} (no address to check: set an IP or ${RESCUE_LABELS.verify})` } : { up: false, detail: state.failure.message };
      }
      const target = parseHostPort(method.replace(/^tcp:/, ''), RESCUE_LABELS.verify);
      let tries = 0;
      while (Date.now() < deadline) {
        context.heartbeat();
        tries += 1;
        if (await tcpAnswers(target.host, target.port, 3000)) return { up: true, detail: `${target.host}:${target.port} answered after ${tries} tries` };
        await context.sleep(2000);
      }
      return { up: false, detail: `${target.host}:${target.port} did not answer within ${Math.round(input.timeoutMs / 1000)} s (${tries} tries)` };
    },

    async recordRescueProgress(input: { workflowId: string; runId: string; state: string; environment: string | null; steps: StepRecord[]; evidence: Record<string, unknown> }): Promise<void> {
      await inventory.rescues.update(input.workflowId, input.runId, { state: input.state, environment: input.environment, steps: input.steps, evidence: input.evidence });
    },

    async closeRescueRun(input: { workflowId: string; runId: string; outcome: string; error: string | null; steps: StepRecord[]; evidence: Record<string, unknown> }): Promise<void> {
      // The guard's room for this rescue is free, and the machine's cooldown starts.
      await inventory.guard.releaseSlots(input.workflowId);
      try {
        await inventory.rescues.update(input.workflowId, input.runId, { steps: input.steps, evidence: input.evidence });
        const run = await inventory.rescues.close(input.workflowId, input.runId, input.outcome, input.error);
        await inventory.events.record({ kind: `rescue.${input.outcome}`, objectType: 'system', objectName: run.system, actor: input.workflowId, detail: input.error ? { error: input.error } : {} });
      } catch (error) {
        // A rescue refused at identify (already rescued, unknown system) has no run of its own to close.
        if (error instanceof InventoryError && error.kind === 'not-found') return;
        throw error;
      }
    },
  };
}

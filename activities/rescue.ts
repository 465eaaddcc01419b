// The rescue's activities: thin over the inventory, the netboot service, the handshake and the SSH
// shell. Nothing secret is returned to the workflow: the token and private key stay in the database.
import { Context, ApplicationFailure } from '@temporalio/activity';
import { InventoryError } from '../inventory/errors.js';
import { selectRescueEnvironment } from '../rescue/selection.js';
import { createHandshakeSecrets, hostKeyFingerprint, rescueKernelArguments } from '../rescue/handshake.js';
import { renderTemplate, TemplateRenderError } from '../boot/templates.js';
import { formatKernelOptions, kernelCommandLineProblem, mergeKernelOptions } from '../boot/kernel-options.js';
import { macToBootFileSuffix } from '../inventory/mac.js';
import type { ActivityDependencies } from './dependencies.js';
import type { FindingSummary, MachineIdentity, PhoneHome, RepairSummary, StepRecord, VerificationVerdict } from '../workflows/rescue-types.js';
import type { RescueSshEndpoint } from './rescue-shell.js';
import { isRetryableShellError, isShellError } from '../shell/errors.js';
import { osCheckOf, parseHostPort, VERIFY_LABEL, waitForOsAnswer } from '../rescue/os-check.js';
import { safeText } from '../shell/safe-text.js';

/** Labels that tune a rescue per machine (documented in the README). */
export const RESCUE_LABELS = {
  reinstall: 'rescued.reinstall',
  sshEndpoint: 'rescued.ssh-endpoint',
  verify: VERIFY_LABEL,
  /** `allowed`: xfs_repair may zero an XFS log it cannot replay (losing the changes in it); the record says so. */
  xfsZeroLog: 'rescued.xfs-zero-log',
  /** Comma-separated device paths: the only disks the rescue examines and repairs (unset: every disk it finds). */
  devices: 'rescued.devices',
} as const;

/** The devices a `rescued.devices` label names; undefined when it names none; a refusal naming a bad entry. */
export function devicesLabel(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const devices = value.split(',').map((device) => device.trim()).filter(Boolean);
  const bad = devices.find((device) => !/^\/[A-Za-z0-9._/+-]+$/.test(device));
  if (bad !== undefined) throw refuse('RescueRefused', `label ${RESCUE_LABELS.devices}: "${bad}" is not an absolute device path`);
  return devices.length > 0 ? devices : undefined;
}

const HANDSHAKE_LIFETIME_MS = 6 * 3600_000;
/** How long one check of a restored machine may take (an SSH banner comes in well under a second). */
const VERIFY_PROBE_TIMEOUT_MS = 3000;
/** How often the restored machine is asked: a check starts every second, even while earlier ones still wait. */
const VERIFY_INTERVAL_MS = 1000;

/** What the workflow received in its phone-home signal: where to connect, and the host key to expect. */
type PinnedPhoneHome = Pick<PhoneHome, 'ip' | 'sshPort' | 'hostKeyFingerprint'>;

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

function hostPortLabel(value: string, label: string): { host: string; port: number } {
  const target = parseHostPort(value);
  if (!target) throw refuse('RescueRefused', `label ${label}="${value}" is not host:port`);
  return target;
}

export function createRescueActivities(dependencies: ActivityDependencies) {
  const { inventory, netboot, rescueShell } = dependencies;

  /**
   * Where to SSH and which host key to pin: the key must be the one whose fingerprint the workflow received
   * in its phone-home signal (the first call's), whatever the database holds now.
   */
  async function sshEndpoint(handshakeId: string, phonedHome: PinnedPhoneHome): Promise<RescueSshEndpoint> {
    const credentials = await inventory.rescues.sshCredentials(handshakeId);
    // The workflow has the phone-home signal, but the record is not there: the API released its claim because
    // the signal's delivery looked failed (a timeout can hide a delivered signal), and the rescue environment,
    // which retries its phone-home every 2 s, will record it again. Retried, not refused.
    if (credentials === undefined) {
      throw ApplicationFailure.create({ type: 'PhoneHomeNotRecorded', message: `handshake ${handshakeId} has no phone-home recorded (yet): the API could not confirm the signal and the rescue environment's retry has not come in` });
    }
    const stored = hostKeyFingerprint(credentials.hostKey);
    if (stored !== phonedHome.hostKeyFingerprint) {
      throw ApplicationFailure.create({
        type: 'SshError.host-key-mismatch',
        message: `the stored host key of ${credentials.system}'s rescue (${stored}) is not the one its phone-home announced (${phonedHome.hostKeyFingerprint}); refusing to connect`,
        nonRetryable: true,
      });
    }
    const system = await inventory.systems.get(credentials.system);
    // Behind NAT (a lab, a bastion) the address the rescue environment saw is not the one we reach.
    const override = system.labels[RESCUE_LABELS.sshEndpoint];
    const target = override ? hostPortLabel(override, RESCUE_LABELS.sshEndpoint) : { host: phonedHome.ip, port: phonedHome.sshPort };
    const devices = devicesLabel(system.labels[RESCUE_LABELS.devices]);
    return { host: target.host, port: target.port, hostKey: credentials.hostKey, privateKeyPem: credentials.privateKeyPem, system: credentials.system, ...(devices ? { devices } : {}) };
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
      // A retried push replaces the handshake of the attempt before it.
      await inventory.rescues.deleteHandshakes(input.workflowId);
      const handshakeId = await inventory.rescues.createHandshake({ workflowId: input.workflowId, system: input.system, mac, secrets, expiresAt: new Date(Date.now() + HANDSHAKE_LIFETIME_MS) });
      let environmentArgs: string;
      try {
        environmentArgs = renderTemplate({ name: `rescue-env ${environment.name} kernel args`, body: environment.kernelArgs }, { system: { ...system, power: undefined }, mac, arch: system.arch, firmware: system.firmware });
      } catch (error) {
        if (error instanceof TemplateRenderError) throw refuse('RescueRefused', error.message);
        throw error;
      }
      const handshakeArgs = rescueKernelArguments({ callbackUrl: `${netboot.urls.httpBase}/boot/rescue/${secrets.token}/ready`, token: secrets.token, publicKey: secrets.publicKey });
      const append = formatKernelOptions(mergeKernelOptions(environmentArgs, `BOOTIF=${macToBootFileSuffix(mac)}`, handshakeArgs));
      // The template may pull in values (labels) that would break the boot config's line or command: refused, naming them.
      const problem = kernelCommandLineProblem(append);
      if (problem !== undefined) throw refuse('RescueRefused', `the kernel arguments of rescue environment "${environment.name}" render to ${JSON.stringify(environmentArgs)}: ${problem}`);
      // The token is a credential: stored encrypted in the override, masked wherever the override is shown.
      await inventory.boot.setOverride({ system: input.system, kind: 'rescue', label: environment.name, kernel: environment.kernel, initrd: environment.initrd, append, owner: input.workflowId, expiresAt: new Date(Date.now() + HANDSHAKE_LIFETIME_MS) }, [secrets.token]);
      await inventory.events.record({ kind: 'rescue.boot-config-pushed', objectType: 'system', objectName: input.system, actor: input.workflowId, detail: { environment: environment.name } });
      return { handshakeId };
    },

    async collectBootEvidence(input: { system: string; workflowId: string }): Promise<{ fetches: Array<{ at: string; protocol: string; file: string; outcome: string }>; summary: string }> {
      const fetches = (await inventory.boot.fetchesOf(input.system, { limit: 20 })).map((f) => ({ at: f.at, protocol: f.protocol, file: f.file, outcome: f.outcome }));
      const summary = fetches.length === 0 ? `no TFTP or HTTP fetch was seen from ${input.system} (is its network boot reaching this server?)` : `last fetches: ${fetches.slice(0, 5).map((f) => `${f.at} ${f.protocol} ${f.file} (${f.outcome})`).join('; ')}`;
      return { fetches, summary };
    },

    async diagnoseMachine(input: { workflowId: string; runId: string; handshakeId: string; phoneHome: PinnedPhoneHome }): Promise<{ findings: FindingSummary[] }> {
      const context = Context.current();
      const outcome = await overSsh(() => sshEndpoint(input.handshakeId, input.phoneHome).then((endpoint) => rescueShell.diagnose(endpoint, () => context.heartbeat(), context.cancellationSignal)));
      await inventory.rescues.update(input.workflowId, input.runId, { diagnosis: outcome.report });
      return { findings: outcome.findings };
    },

    async repairMachine(input: { workflowId: string; runId: string; handshakeId: string; phoneHome: PinnedPhoneHome }): Promise<{ findingsAfter: FindingSummary[]; changes: RepairSummary[] }> {
      const context = Context.current();
      const run = await inventory.rescues.get(input.workflowId, input.runId);
      // A retried repair works from the diagnosis before the first attempt, not from the one after it.
      const before = run.diagnosisBeforeRepair ?? run.diagnosis;
      const policy = { allowXfsLogZeroing: (await inventory.systems.get(run.system)).labels[RESCUE_LABELS.xfsZeroLog] === 'allowed' };
      const outcome = await overSsh(() => sshEndpoint(input.handshakeId, input.phoneHome).then((endpoint) => rescueShell.repair(endpoint, before ?? {}, policy, () => context.heartbeat(), context.cancellationSignal)));
      await inventory.rescues.update(input.workflowId, input.runId, { diagnosisBeforeRepair: before, diagnosis: outcome.after.report, repairs: outcome.results });
      return {
        findingsAfter: outcome.after.findings,
        // Small and JSON-plain for the workflow: what each playbook did, without its evidence.
        changes: outcome.results.map(({ playbook, subject, changed, status, actions }) => ({ playbook, subject, changed, status, actions: actions.slice(0, 12).map((line) => safeText(line, { limit: 500 })) })),
      };
    },

    async pushInstallBootConfig(input: { system: string; profile: string; owner: string }): Promise<{ since: string }> {
      const system = await inventory.systems.get(input.system);
      if (system.profile !== input.profile) {
        await inventory.systems.update(input.system, { profile: input.profile }, { name: input.owner });
      }
      const target = await netboot.installTargetFor(input.system);
      const since = new Date().toISOString();
      // This install's status callbacks get a token of their own, closed when it finishes or fails.
      await inventory.installTokens.open(input.system, input.owner);
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
      // The rescue is over: its token stops working, and its private key goes with the handshake.
      await inventory.rescues.deleteHandshakes(input.workflowId);
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

    async verifyMachineUp(input: { system: string; timeoutMs: number }): Promise<{ verdict: VerificationVerdict; up: boolean; detail: string }> {
      const context = Context.current();
      const system = await inventory.systems.get(input.system);
      const check = osCheckOf(system);
      if (check.kind === 'invalid') return { verdict: 'unverified', up: false, detail: check.reason };
      if (check.kind === 'none') return { verdict: 'unverified', up: false, detail: `not verified: ${check.reason}` };
      const what = `${check.kind === 'ssh' ? 'SSH' : 'TCP'} at ${check.host}:${check.port} (${check.source})`;
      const waited = await waitForOsAnswer(check, {
        timeoutMs: input.timeoutMs,
        intervalMs: VERIFY_INTERVAL_MS,
        probeTimeoutMs: VERIFY_PROBE_TIMEOUT_MS,
        signal: context.cancellationSignal,
        onTry: () => context.heartbeat(),
      });
      context.cancellationSignal.throwIfAborted();
      const tries = waited.tries;
      if (waited.answered) return { verdict: 'up', up: true, detail: `${what} answered after ${tries} tries` };
      return { verdict: 'down', up: false, detail: `${what} did not answer within ${Math.round(input.timeoutMs / 1000)} s (${tries} tries)` };
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
        await inventory.events.record({ kind: `rescue.${input.outcome}`, objectType: 'system', objectName: run.system, actor: input.workflowId, detail: input.error ? { error: safeText(input.error, { limit: 4000 }) } : {} });
      } catch (error) {
        // A rescue refused at identify (already rescued, unknown system) has no run of its own to close.
        if (error instanceof InventoryError && error.kind === 'not-found') return;
        throw error;
      }
    },
  };
}

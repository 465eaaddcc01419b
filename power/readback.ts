// A set is done when the state read back says so, never on the BMC's word alone.
//
// on / off / soft: read until the machine is on / off / off.
// reset: the machine must read "on" afterwards; a reset does not show in the power state, so the evidence is
//   "the BMC accepted the reset and the machine reads on" (an off seen on the way is recorded).
// cycle: the machine must read "on" at the end, and either an "off" was seen after the command (or by the
//   driver itself, e.g. Redfish ForceOff then On), or it kept reading "on" for cycle_settle seconds after the
//   BMC accepted the cycle (a fast BMC can cycle between two reads; the record says observedOff: false).
// reset / cycle of a machine that is off: it is powered on instead (a cycle of an off machine is an error or a
//   no-op depending on the BMC; the rescue wants a fresh boot either way). The record says so.
// on when on, off / soft when off: nothing is sent; the read is the evidence.
import { BmcError, isBmcError, type BmcErrorOrigin } from './errors.js';
import { sleep } from './retry.js';
import type {
  BootDeviceGetter,
  BootDeviceReading,
  BootDeviceRequest,
  BootDeviceSetter,
  OperationContext,
  PowerAction,
  PowerSetter,
  PowerState,
  PowerStateGetter,
} from './types.js';

export interface ReadbackTiming {
  readbackTimeoutMs: number;
  readbackIntervalMs: number;
  cycleSettleMs: number;
}

/** The JSON-plain account of one power action, stored with the chain record. */
export interface PowerTransition {
  action: PowerAction;
  /** What was sent: differs from `action` when the machine was off for reset/cycle; null when nothing was. */
  actionSent: PowerAction | null;
  stateBefore: PowerState;
  stateAfter: PowerState;
  /** cycle/reset only: an "off" was read (or seen by the driver) between the command and the end. */
  observedOff: boolean;
  /** The commands the BMC accepted, in its own terms. */
  commands: string[];
  /** Reads of the power state after the command. */
  reads: number;
  elapsedMs: number;
  evidence: string;
}

export interface PowerDriver extends PowerStateGetter, PowerSetter {}

function plan(action: PowerAction, before: PowerState): { send: PowerAction | null; target: PowerState } {
  switch (action) {
    case 'on':
      return { send: before === 'on' ? null : 'on', target: 'on' };
    case 'off':
    case 'soft':
      return { send: before === 'off' ? null : action, target: 'off' };
    case 'reset':
    case 'cycle':
      return { send: before === 'off' ? 'on' : action, target: 'on' };
  }
}

export async function setPowerAndConfirm(
  driver: PowerDriver,
  action: PowerAction,
  context: OperationContext,
  timing: ReadbackTiming,
  origin: BmcErrorOrigin,
): Promise<PowerTransition> {
  const started = performance.now();
  const stateBefore = await readKnownState(driver, context, timing, origin);
  const { send, target } = plan(action, stateBefore);
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

  if (send === null) {
    return {
      action, actionSent: null, stateBefore, stateAfter: stateBefore, observedOff: false, commands: [], reads: 0,
      elapsedMs: Math.round(performance.now() - started),
      evidence: `already ${stateBefore}: nothing sent`,
    };
  }

  const receipt = await driver.setPowerState(send, context);
  const commandAccepted = performance.now();
  const deadline = commandAccepted + timing.readbackTimeoutMs;
  const throughOff = send === 'cycle' || send === 'reset';
  let observedOff = throughOff && receipt.observedOff;
  let reads = 0;
  let lastState: PowerState | 'unknown' = 'unknown';
  let lastReadError: BmcError | undefined;

  for (;;) {
    try {
      lastState = await driver.getPowerState(context);
      reads += 1;
      lastReadError = undefined;
      if (lastState === 'off' && throughOff) observedOff = true;
      if (lastState === target && transitionComplete(send, observedOff, performance.now() - commandAccepted, timing)) break;
    } catch (error) {
      // A BMC may not answer, or answer a state outside its schema, while it resets the host: tolerated until
      // the deadline.
      if (!toleratedWhilePolling(error)) throw error;
      lastReadError = error;
    }
    if (performance.now() >= deadline) {
      const last = lastReadError ? `last read failed: ${lastReadError.message}` : `still reads ${lastState}`;
      throw new BmcError(
        'state-not-reached',
        origin,
        `asked ${action}${send !== action ? ` (sent ${send})` : ''}, the BMC accepted ${receipt.commands.join(', ') || send}, ` +
          `but the machine did not read ${target} within readback_timeout=${seconds(timing.readbackTimeoutMs)}: ${last}`,
      );
    }
    await sleep(Math.min(timing.readbackIntervalMs, Math.max(0, deadline - performance.now())), context.signal);
  }

  const waited = seconds(performance.now() - commandAccepted);
  const sentWords = receipt.commands.length > 0 ? receipt.commands.join(', ') : `${send} (the BMC said it was there already)`;
  let evidence = `sent ${sentWords}; read ${target} after ${waited} (${reads} reads)`;
  if (send === 'cycle' || send === 'reset') {
    evidence += observedOff ? ', off seen on the way' : send === 'cycle' ? `, off not seen, on for ${seconds(timing.cycleSettleMs)}` : ', reset does not show in the power state';
  }
  if (send !== action) evidence = `machine was off, powered on instead of ${action}; ${evidence}`;
  return {
    action, actionSent: send, stateBefore, stateAfter: target, observedOff, commands: receipt.commands, reads,
    elapsedMs: Math.round(performance.now() - started), evidence,
  };
}

function toleratedWhilePolling(error: unknown): error is BmcError {
  return isBmcError(error) && (error.kind === 'unreachable' || error.kind === 'timeout' || error.transient);
}

/** The state before the action; a transient answer (a state outside the schema) is read again until the deadline. */
async function readKnownState(driver: PowerStateGetter, context: OperationContext, timing: ReadbackTiming, origin: BmcErrorOrigin): Promise<PowerState> {
  const deadline = performance.now() + timing.readbackTimeoutMs;
  for (;;) {
    try {
      return await driver.getPowerState(context);
    } catch (error) {
      if (!isBmcError(error) || !error.transient) throw error;
      if (performance.now() >= deadline) {
        throw new BmcError('state-not-reached', origin, `the power state stayed unreadable for readback_timeout=${(timing.readbackTimeoutMs / 1000).toFixed(1)} s: ${error.message}`);
      }
    }
    await sleep(timing.readbackIntervalMs, context.signal);
  }
}

function transitionComplete(sent: PowerAction, observedOff: boolean, sinceCommandMs: number, timing: ReadbackTiming): boolean {
  if (sent !== 'cycle') return true;
  return observedOff || sinceCommandMs >= timing.cycleSettleMs;
}

/** The account of one boot device change, stored with the chain record. */
export interface BootDeviceConfirmation {
  requested: BootDeviceRequest;
  /** The last reading, null when the driver cannot read the boot device. */
  reading: BootDeviceReading | null;
  /** The BMC read back the device asked for (and the mode, where it reports one as in effect). */
  confirmed: boolean;
  warnings: string[];
  reads: number;
}

export interface BootDriver extends BootDeviceSetter, Partial<BootDeviceGetter> {}

export async function setBootDeviceAndConfirm(
  driver: BootDriver,
  request: BootDeviceRequest,
  context: OperationContext,
  timing: ReadbackTiming,
  origin: BmcErrorOrigin,
): Promise<BootDeviceConfirmation> {
  await driver.setBootDevice(request, context);
  if (!driver.getBootDevice) {
    return { requested: request, reading: null, confirmed: false, warnings: ['this driver cannot read the boot device back'], reads: 0 };
  }
  const deadline = performance.now() + timing.readbackTimeoutMs;
  let reads = 0;
  for (;;) {
    const reading = await driver.getBootDevice(context);
    reads += 1;
    const verdict = compareBootReading(request, reading);
    if (verdict.matches) return { requested: request, reading, confirmed: true, warnings: verdict.warnings, reads };
    if (performance.now() >= deadline) {
      throw new BmcError(
        'state-not-reached',
        origin,
        `asked boot device ${request.device} (${request.uefi ? 'UEFI' : 'legacy'}), the BMC reads ${describeReading(reading)}`,
      );
    }
    await sleep(Math.min(timing.readbackIntervalMs, Math.max(0, deadline - performance.now())), context.signal);
  }
}

export function describeReading(reading: BootDeviceReading): string {
  const mode = reading.uefi === null ? 'mode not reported' : reading.uefi ? 'UEFI' : 'legacy';
  const scope = reading.persistent === null ? '' : reading.persistent ? ', persistent' : ', next boot only';
  return `${reading.device} ("${reading.reported}", ${mode}${scope})`;
}

/**
 * The device must match. The mode must match when the BMC reports one and says the override is in effect; a
 * BMC that reports the override as not in effect (ipmi_sim never sets the "valid" bit) or as persistent gets a
 * warning, not a failure, as the device it will boot from is the one asked for.
 */
export function compareBootReading(request: BootDeviceRequest, reading: BootDeviceReading): { matches: boolean; warnings: string[] } {
  if (reading.device !== request.device) return { matches: false, warnings: [] };
  const warnings: string[] = reading.note ? [reading.note] : [];
  if (reading.uefi !== null && reading.uefi !== request.uefi) {
    if (reading.overrideActive !== false) return { matches: false, warnings: [] };
    warnings.push(`the BMC reports the boot flags as not valid and the mode as ${reading.uefi ? 'UEFI' : 'legacy'}: mode not confirmed`);
  } else if (reading.overrideActive === false) {
    warnings.push('the BMC reports the boot flags as not valid');
  }
  if (reading.persistent === true) warnings.push('the BMC reports the boot override as persistent, not next boot only');
  if (reading.uefi === null) warnings.push('the BMC does not report the boot mode: mode not confirmed');
  return { matches: true, warnings };
}

// The one-time boot override (Boot.BootSourceOverrideTarget/Enabled/Mode) as the common BMCs take it:
// - BootSourceOverrideMode is sent only when it must change or when the BMC advertises its AllowableValues:
//   Dell 13G and HPE iLO refuse any PATCH naming it (400: read-only; ansible-collections/community.general#3509,
//   #5091), Supermicro resets it to Legacy when it is left out (DMTF/Redfishtool#106) and advertises its values.
// - The ETag comes from the ETag header or the body's @odata.etag (Lenovo XCC, ansible/ansible#56150); a 428
//   (If-Match required) is answered with a fresh one; a 412 is retried once with a fresh ETag, in its strong form
//   when the BMC handed it out weak and it did not change (RFC 7232 §3.1: If-Match compares strongly).
// - When the system has a @Redfish.Settings object (Dell iDRAC 10: "The property Boot is a read-only property",
//   ansible-collections/community.general#11297, canonical/maas#534), the override is written there.
// - A system without a Boot override is an unsupported error; nothing is PATCHed.
import { BmcError, type BmcErrorOrigin } from '../errors.js';
import type { BootDeviceRequest, OperationContext } from '../types.js';
import type { RedfishConnection } from './redfish-connection.js';
import { describeRedfishAnswer, type RedfishResponse } from './redfish-http.js';
import { allowableValues, bootSourceOverrideTarget, isRecord, odataId, redfishErrorMessage } from './redfish-mapping.js';

export interface RedfishResource {
  body: Record<string, unknown>;
  etag: string | undefined;
}

export type ResourceReader = (path: string, context: OperationContext) => Promise<RedfishResource>;

/** The ETag of a GET: the header's, else the body's @odata.etag. */
export function etagOf(headers: Record<string, string | string[] | undefined>, body: unknown): string | undefined {
  const header = headers['etag'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader) return fromHeader;
  return isRecord(body) && typeof body['@odata.etag'] === 'string' && body['@odata.etag'] !== '' ? body['@odata.etag'] : undefined;
}

/** W/"x" -> "x"; a strong tag as it is. */
export function strongForm(etag: string): string {
  return etag.startsWith('W/') ? etag.slice(2) : etag;
}

export function settingsObjectPath(system: Record<string, unknown>): string | null {
  const settings = system['@Redfish.Settings'];
  return isRecord(settings) ? odataId(settings['SettingsObject']) : null;
}

export interface BootOverridePlan {
  /** Where the PATCH goes: the system, or its settings object. */
  path: string;
  etag: string | undefined;
  patch: Record<string, string>;
  /** The mode is in the patch although the BMC did not advertise it as writable (it differs from the current). */
  modeChange: { from: string; to: string } | null;
  /** The mode left out of the patch; a retry without it is possible when the BMC refuses it. */
  modeOmittable: boolean;
}

export async function planBootOverride(
  redfish: RedfishConnection,
  system: RedfishResource,
  systemPath: string,
  request: BootDeviceRequest,
  read: ResourceReader,
  context: OperationContext,
  origin: BmcErrorOrigin,
): Promise<BootOverridePlan> {
  const bmc = redfish.describeBmc();
  const boot = isRecord(system.body['Boot']) ? system.body['Boot'] : null;
  const settingsPath = settingsObjectPath(system.body);
  if (boot === null || (!('BootSourceOverrideTarget' in boot) && settingsPath === null)) {
    throw new BmcError('unsupported', origin, `${bmc}: ${systemPath} has no Boot.BootSourceOverrideTarget: this BMC offers no one-time boot override over Redfish; nothing was sent (use an IPMI BMC entry for this machine)`);
  }
  let path = systemPath;
  let etag = system.etag;
  let writable: Record<string, unknown> = boot;
  if (settingsPath !== null) {
    const settings = await read(settingsPath, context);
    path = settingsPath;
    etag = settings.etag;
    if (isRecord(settings.body['Boot'])) writable = settings.body['Boot'];
  }
  const advertised = (property: string): string[] | null => allowableValues(writable, property) ?? allowableValues(boot, property);

  let target = bootSourceOverrideTarget(request.device);
  const targets = advertised('BootSourceOverrideTarget');
  if (targets && !targets.includes(target)) {
    // A UEFI machine whose BMC offers HTTP boot but not PXE still boots from the network.
    if (request.device === 'pxe' && request.uefi && targets.includes('UefiHttp')) target = 'UefiHttp';
    else throw new BmcError('unsupported', origin, `${bmc}: boot device ${target} is not among ${targets.join(', ')} (Boot.BootSourceOverrideTarget@Redfish.AllowableValues)`);
  }
  const mode = request.uefi ? 'UEFI' : 'Legacy';
  const modes = advertised('BootSourceOverrideMode');
  if (modes && !modes.includes(mode)) {
    throw new BmcError('unsupported', origin, `${bmc}: boot mode ${mode} is not among ${modes.join(', ')} (Boot.BootSourceOverrideMode@Redfish.AllowableValues)`);
  }
  const current = typeof boot['BootSourceOverrideMode'] === 'string' ? boot['BootSourceOverrideMode'] : null;
  const patch: Record<string, string> = { BootSourceOverrideTarget: target, BootSourceOverrideEnabled: 'Once' };
  let modeChange: BootOverridePlan['modeChange'] = null;
  let modeOmittable = false;
  if (modes !== null) {
    patch['BootSourceOverrideMode'] = mode;
    modeOmittable = current === mode;
  } else if (current !== null && current !== mode) {
    patch['BootSourceOverrideMode'] = mode;
    modeChange = { from: current, to: mode };
  }
  return { path, etag, patch, modeChange, modeOmittable };
}

function namesProperty(response: RedfishResponse, property: string): boolean {
  return response.text.includes(property) || redfishErrorMessage(response.body).includes(property);
}

/** PATCHes the override; the answers 400 (mode refused), 412 and 428 are handled as the header comment says. */
export async function applyBootOverride(
  redfish: RedfishConnection,
  plan: BootOverridePlan,
  read: ResourceReader,
  context: OperationContext,
  origin: BmcErrorOrigin,
): Promise<void> {
  const bmc = redfish.describeBmc();
  let patch = { ...plan.patch };
  let etag = plan.etag;
  let preconditionRetries = 0;
  let modeRetried = false;
  for (;;) {
    const answer = await redfish.request('PATCH', plan.path, context, {
      body: { Boot: patch },
      headers: etag ? { 'If-Match': etag } : {},
      answerStatuses: [400, 412, 428],
    });
    if (answer.status >= 200 && answer.status < 300) return;
    const said = describeRedfishAnswer(answer);
    if (answer.status === 400) {
      if ('BootSourceOverrideMode' in patch && namesProperty(answer, 'BootSourceOverrideMode')) {
        if (plan.modeOmittable && !modeRetried) {
          modeRetried = true;
          const { BootSourceOverrideMode: _mode, ...rest } = patch;
          patch = rest;
          continue;
        }
        if (plan.modeChange) {
          throw new BmcError('unsupported', origin, `${bmc}: the system boots ${plan.modeChange.from} and BootSourceOverrideMode is read-only on this BMC: it refused ${plan.modeChange.to} for the one-time boot; set the machine's firmware boot mode to ${plan.modeChange.to} (BIOS setting), or its inventory firmware to ${plan.modeChange.from === 'UEFI' ? 'uefi' : 'bios'}`, said);
        }
      }
      throw new BmcError('rejected', origin, `${bmc}: PATCH ${plan.path} Boot ${JSON.stringify(patch)} refused`, said);
    }
    if (preconditionRetries >= 1 && answer.status === 412) {
      throw new BmcError('rejected', origin, `${bmc}: PATCH ${plan.path}: If-Match ${etag ?? '(none)'} refused again after reading a fresh ETag (412); someone else may be changing this system`, said);
    }
    if (preconditionRetries >= 2) {
      throw new BmcError('rejected', origin, `${bmc}: PATCH ${plan.path}: the BMC keeps refusing the precondition (${answer.status})`, said);
    }
    preconditionRetries += 1;
    const fresh = await read(plan.path, context);
    if (answer.status === 428 && fresh.etag === undefined) {
      throw new BmcError('rejected', origin, `${bmc}: PATCH ${plan.path} needs If-Match (428) but GET ${plan.path} gives no ETag, neither header nor @odata.etag`, said);
    }
    // Unchanged and weak: the BMC compares strongly, send the strong form.
    etag = answer.status === 412 && fresh.etag !== undefined && fresh.etag === etag && fresh.etag.startsWith('W/') ? strongForm(fresh.etag) : fresh.etag;
  }
}

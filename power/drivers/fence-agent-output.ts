// The fence agent protocol (ClusterLabs fence-agents): options as key=value lines on stdin, exit codes for
// status, errors as log lines on stderr. Pure functions, unit-tested.
import type { BmcErrorKind } from '../errors.js';
import type { PowerAction, PowerState } from '../types.js';

export type FenceAction = 'status' | 'on' | 'off' | 'reboot';

/** Fence agents do hard on/off and reboot; a graceful shutdown is not part of the protocol. */
export function fenceActionFor(action: PowerAction): FenceAction | null {
  switch (action) {
    case 'on':
      return 'on';
    case 'off':
      return 'off';
    case 'reset':
    case 'cycle':
      return 'reboot';
    case 'soft':
      return null;
  }
}

/** `status` exits 0 when on, 2 when off, anything else is an error (1 by the protocol). */
export function powerStateFromStatusExit(exitCode: number | null): PowerState | null {
  if (exitCode === 0) return 'on';
  if (exitCode === 2) return 'off';
  return null;
}

export interface FenceStdinFields {
  action: FenceAction;
  address: string;
  port: number | undefined;
  username: string | undefined;
  password: string | undefined;
  /** Passed through as they are, after the fields above (so they cannot replace the action or the password). */
  agentOptions: Record<string, string>;
}

const OPTION_KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;
// The fields rescued sets itself; an inventory option with one of these names would override them silently.
const RESERVED_KEYS = new Set(['action', 'option', 'ip', 'ipaddr', 'ipport', 'username', 'login', 'password', 'passwd']);

/** The stdin document. Returns the name of the first bad option instead when a key or value is unusable. */
export function fenceStdin(fields: FenceStdinFields): { text: string } | { badOption: string; reason: string } {
  const lines = [`action=${fields.action}`, `ip=${fields.address}`];
  if (fields.port !== undefined) lines.push(`ipport=${fields.port}`);
  if (fields.username !== undefined) lines.push(`username=${fields.username}`);
  if (fields.password !== undefined) lines.push(`password=${fields.password}`);
  let verbose = false;
  for (const [key, value] of Object.entries(fields.agentOptions)) {
    if (!OPTION_KEY.test(key)) return { badOption: key, reason: 'not an option name' };
    if (RESERVED_KEYS.has(key.toLowerCase())) return { badOption: key, reason: 'set from the BMC address and credentials, not from options' };
    if (/[\0\r\n]/.test(value)) return { badOption: key, reason: 'the value contains a line break' };
    if (key === 'verbose') verbose = true;
    lines.push(`${key}=${value}`);
  }
  // verbose makes agents log what their tool said (e.g. ipmitool's session error), which the errors quote.
  if (!verbose) lines.push('verbose=1');
  for (const line of lines) {
    if (/[\0\r\n]/.test(line)) return { badOption: line.split('=')[0] ?? '', reason: 'the value contains a line break' };
  }
  return { text: `${lines.join('\n')}\n` };
}

/** stderr lines worth quoting: no Python warnings, no timestamps, no "Executing:" traces. */
export function meaningfulAgentStderr(stderr: string): string[] {
  const kept: string[] = [];
  for (const rawLine of stderr.split('\n')) {
    let line = rawLine.trim();
    if (line === '' || /DeprecationWarning|^from \w+ import|^import \w+/.test(line)) continue;
    line = line.replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d+ /, '');
    if (/^INFO: Executing:/.test(line)) continue;
    line = line.replace(/^DEBUG: (\d+ +)?/, '');
    if (line !== '') kept.push(line);
  }
  return kept;
}

export type FenceFailureKind = BmcErrorKind | 'ipmi-session-refused';

interface AgentRule {
  pattern: RegExp;
  kind: FenceFailureKind;
}

const AGENT_RULES: readonly AgentRule[] = [
  // The fencing library says this for a refused login and for a device that never gave a prompt alike. Taken as
  // auth: a wrong password retried can lock the account on the BMC, an unreachable device only loses the retry.
  { pattern: /Unable to connect\/login to fencing device/i, kind: 'auth' },
  { pattern: /RAKP \d HMAC is invalid|unauthorized name|Insufficient privilege|Unable to login|Login failed|Authentication fail|invalid (user|password|credentials)|unauthori[sz]ed|access denied|permission denied|\b401\b/i, kind: 'auth' },
  // ipmitool says the same for a refused password and for a BMC that never answered: decided by a ping.
  { pattern: /Unable to establish IPMI v2 \/ RMCP\+ session|Unable to establish LAN session/i, kind: 'ipmi-session-refused' },
  { pattern: /timed out|timeout/i, kind: 'timeout' },
  { pattern: /Unable to connect|Connection refused|No route to host|Network is unreachable|Name or service not known|Temporary failure in name resolution|Unable to resolve/i, kind: 'unreachable' },
  { pattern: /You have to (enter|set)|is required|Parse error|Invalid value|not a valid|Failed: Unknown|unrecognized arguments/i, kind: 'invalid-config' },
  { pattern: /not supported|unsupported|Unsupported action/i, kind: 'unsupported' },
];

export function classifyAgentStderr(stderr: string): { kind: FenceFailureKind; said: string } {
  const lines = meaningfulAgentStderr(stderr);
  const said = lines.slice(-6).join(' / ');
  for (const rule of AGENT_RULES) {
    if (lines.some((line) => rule.pattern.test(line))) return { kind: rule.kind, said };
  }
  return { kind: 'rejected', said };
}

// Any installed ClusterLabs fence agent (fence_ipmilan, fence_drac5, fence_ilo, fence_wti, ...), the way
// Cobbler users name their power types. Everything, the password included, goes on stdin as key=value lines:
// the agent's command line is empty. Power state only: fence agents know nothing of boot devices. The options
// are checked against what the agent declares (fence-agent-metadata.ts) before it first runs.
import { BmcError, type BmcErrorOrigin } from '../errors.js';
import { COMMON_OPTION_KEYS, OptionReader, readCommonOptions } from '../options.js';
import { ProcessStartError, runProcess, type ProcessOutcome } from '../process.js';
import { callWithRetries, RETRY_ON_NO_ANSWER, RETRY_ON_UNREACHABLE_ONLY, type RetryPolicy } from '../retry.js';
import { checkedField, checkedHost } from '../target.js';
import type { BmcDriver, BmcTarget, OperationContext, PowerAction, PowerCommandReceipt, PowerState } from '../types.js';
import { classifyAgentStderr, fenceActionFor, fenceStdin, powerStateFromStatusExit, type FenceAction } from './fence-agent-output.js';
import { fenceAgentMetadata, fenceOptionProblem, type FenceAgentMetadataCache } from './fence-agent-metadata.js';
import { rmcpPresencePing } from './rmcp-ping.js';

export interface FenceAgentSettings {
  /** Absolute path of the agent, found on PATH by the registry. */
  executable: string;
  agentName: string;
  host: string;
  port: number | undefined;
  username: string | undefined;
  password: string | undefined;
  /** The target's options minus rescued's own (power/options.ts), for the agent. */
  agentOptions: Record<string, string>;
  callTimeoutMs: number;
  retry: RetryPolicy;
}

export function readFenceAgentSettings(target: BmcTarget, agentName: string, executable: string): FenceAgentSettings {
  const origin = { systemName: target.systemName, driver: agentName };
  const reader = new OptionReader(target.options, origin);
  const common = readCommonOptions(reader, 60);
  const ownKeys = new Set<string>(COMMON_OPTION_KEYS);
  const agentOptions: Record<string, string> = {};
  for (const [key, value] of Object.entries(target.options)) {
    if (!ownKeys.has(key)) agentOptions[key] = value;
  }
  return {
    executable,
    agentName,
    host: checkedHost(target, origin),
    port: target.port,
    username: target.username === undefined ? undefined : checkedField(target.username, 'username', origin),
    password: target.password === undefined ? undefined : checkedField(target.password, 'password', origin),
    agentOptions,
    callTimeoutMs: common.callTimeoutMs ?? 60000,
    retry: { retries: common.retries, delayMs: common.retryDelayMs },
  };
}

export function createFenceAgentDriver(target: BmcTarget, agentName: string, executable: string, metadata: FenceAgentMetadataCache = fenceAgentMetadata): BmcDriver {
  const settings = readFenceAgentSettings(target, agentName, executable);
  const origin: BmcErrorOrigin = { systemName: target.systemName, driver: agentName };
  let optionsChecked = Object.keys(settings.agentOptions).length === 0;

  /** Refuses an option the agent does not declare, or one naming a program or file, before the agent runs. */
  async function checkAgentOptions(): Promise<void> {
    if (optionsChecked) return;
    let declared;
    try {
      declared = await metadata.metadataOf(agentName, settings.executable);
    } catch (error) {
      throw new BmcError('invalid-config', origin, `cannot check the options against what ${agentName} declares: ${(error as Error).message}`);
    }
    const problem = fenceOptionProblem(declared, settings.agentOptions);
    if (problem) throw new BmcError('invalid-config', origin, `option ${problem.option}=${JSON.stringify(settings.agentOptions[problem.option])} ${problem.reason}`);
    optionsChecked = true;
  }

  async function runAgent(action: FenceAction, context: OperationContext): Promise<number | null> {
    await checkAgentOptions();
    const stdin = fenceStdin({
      action,
      address: settings.host,
      port: settings.port,
      username: settings.username,
      password: settings.password,
      agentOptions: settings.agentOptions,
    });
    if ('badOption' in stdin) {
      throw new BmcError('invalid-config', origin, `option ${JSON.stringify(stdin.badOption)} cannot be passed to the agent: ${stdin.reason}`);
    }
    const description = `${agentName} action=${action}`;
    const retryOn = action === 'reboot' ? RETRY_ON_UNREACHABLE_ONLY : RETRY_ON_NO_ANSWER;
    return callWithRetries(context, origin, description, settings.retry, async () => {
      let outcome: ProcessOutcome;
      try {
        outcome = await runProcess({ file: settings.executable, args: [], stdin: stdin.text, timeoutMs: settings.callTimeoutMs, signal: context.signal });
      } catch (error) {
        if (error instanceof ProcessStartError) throw new BmcError('invalid-config', origin, `cannot run ${settings.executable} (${error.code})`);
        throw error;
      }
      if (outcome.aborted) context.signal.throwIfAborted();
      if (outcome.timedOut) {
        throw new BmcError('timeout', origin, `${description}: no result within ${settings.callTimeoutMs / 1000} s`, classifyAgentStderr(outcome.stderr).said);
      }
      if (action === 'status' ? powerStateFromStatusExit(outcome.exitCode) !== null : outcome.exitCode === 0) {
        return outcome.exitCode;
      }
      const { kind, said } = classifyAgentStderr(outcome.stderr);
      const summary = `${description} against ${settings.host}${settings.port === undefined ? '' : `:${settings.port}`} failed with exit status ${outcome.exitCode ?? outcome.exitSignal ?? 'unknown'}`;
      if (kind === 'ipmi-session-refused') {
        // Same words for a wrong password and for silence: ask the BMC whether it is there at all.
        const answered = await rmcpPresencePing(settings.host, settings.port ?? 623, 1500, context.signal);
        throw answered
          ? new BmcError('auth', origin, `${summary}: the BMC answers RMCP ping but refused the IPMI session (username, password, privilege or cipher)`, said)
          : new BmcError('unreachable', origin, `${summary}: no IPMI session and no answer to RMCP ping`, said);
      }
      throw new BmcError(kind, origin, summary, said);
    }, retryOn);
  }

  return {
    name: agentName,

    async getPowerState(context): Promise<PowerState> {
      const exitCode = await runAgent('status', context);
      const state = powerStateFromStatusExit(exitCode);
      if (!state) throw new BmcError('internal', origin, `status exit code ${String(exitCode)} is neither 0 (on) nor 2 (off)`);
      return state;
    },

    async setPowerState(action: PowerAction, context): Promise<PowerCommandReceipt> {
      const fenceAction = fenceActionFor(action);
      if (!fenceAction) throw new BmcError('unsupported', origin, `power ${action}: fence agents have no graceful shutdown`);
      await runAgent(fenceAction, context);
      // With method=onoff (the default) an agent's reboot polls the status until off, then on again. With
      // method=cycle it may report success before anything happened, so the off is not taken as seen.
      const agentSawOff = fenceAction === 'reboot' && (settings.agentOptions['method'] ?? 'onoff') === 'onoff';
      return { commands: [`${agentName} action=${fenceAction}`], observedOff: agentSawOff };
    },
  };
}

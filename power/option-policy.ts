// The inventory's rule for power options, applied when a system's BMCs are stored (`system add/edit`): each
// built-in driver takes only its allow-listed options (power/options.ts), a fence agent only the options it
// declares (`fence_X -o metadata`), and no option may name a program, a file or a command prefix. The drivers
// check again when they run, so a row written some other way is refused all the same.
import { InventoryError } from '../inventory/errors.js';
import { BmcError } from './errors.js';
import { COMMON_OPTION_KEYS, driverOptionProblem, OptionReader, readCommonOptions, type OptionProblem } from './options.js';
import { createDefaultRegistry, type DriverRegistry, type DriverResolution } from './registry.js';
import { dangerousOptionName, fenceAgentMetadata, fenceOptionProblem, type FenceAgentMetadataCache } from './drivers/fence-agent-metadata.js';

export interface PowerOptionPolicyDependencies {
  registry?: DriverRegistry;
  metadata?: FenceAgentMetadataCache;
}

export interface PowerEntryOptions {
  type: string;
  options?: Readonly<Record<string, string>> | undefined;
}

async function entryProblem(entry: PowerEntryOptions, registry: DriverRegistry, metadata: FenceAgentMetadataCache): Promise<OptionProblem | undefined> {
  const options = entry.options ?? {};
  try {
    readCommonOptions(new OptionReader(options, { systemName: '', driver: '' }));
  } catch (error) {
    if (!(error instanceof BmcError)) throw error;
    // "<system>: <driver>: option KEY="VALUE" is not valid: expected ..." (power/options.ts)
    const option = /option ([A-Za-z0-9_-]+)=/.exec(error.message)?.[1] ?? '';
    const at = error.message.lastIndexOf(' is not valid: ');
    return { option, reason: at >= 0 ? error.message.slice(at + 1) : error.message };
  }
  let resolution: DriverResolution | undefined;
  try {
    resolution = registry.resolve({ systemName: '', type: entry.type, address: '', options: {} });
  } catch {
    resolution = undefined;
  }
  if (resolution !== undefined && resolution.fenceAgent === undefined) return driverOptionProblem(resolution.driver, options);

  const own = new Set<string>(COMMON_OPTION_KEYS);
  const agentOptions = Object.fromEntries(Object.entries(options).filter(([key]) => !own.has(key)));
  if (resolution?.fenceAgent !== undefined) {
    const declared = await metadata.metadataOf(resolution.fenceAgent.name, resolution.fenceAgent.executable).catch(() => undefined);
    if (declared !== undefined) return fenceOptionProblem(declared, agentOptions);
  }
  // The agent is not installed on this server (or says nothing of its options): the worker checks against its
  // metadata when it runs; here only what names a program or a file is refused.
  for (const key of Object.keys(agentOptions)) {
    const reason = dangerousOptionName(key);
    if (reason) return { option: key, reason };
  }
  return undefined;
}

/** Refuses the first power option that is not allowed: 400 naming the entry, the option and why. */
export async function checkPowerOptions(entries: readonly PowerEntryOptions[] | undefined, dependencies: PowerOptionPolicyDependencies = {}): Promise<void> {
  const registry = dependencies.registry ?? createDefaultRegistry();
  const metadata = dependencies.metadata ?? fenceAgentMetadata;
  for (const [index, entry] of (entries ?? []).entries()) {
    const problem = await entryProblem(entry, registry, metadata);
    if (problem === undefined) continue;
    const value = entry.options?.[problem.option];
    throw new InventoryError(
      'invalid',
      `power[${index}] (${entry.type}): option ${problem.option}${value === undefined ? '' : `=${JSON.stringify(value)}`} ${problem.reason}`,
      `power.${index}.options.${problem.option}`,
    );
  }
}

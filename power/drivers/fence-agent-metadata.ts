// What a fence agent declares about its options (`fence_X -o metadata`, the ClusterLabs fence-agents XML:
// <parameter name=".." deprecated="1" obsoletes=".."><getopt mixed="-D, --debug-file=[debugfile]"/>
// <content type="string|boolean|integer|second|select"><option value=".."/></content><shortdesc>..</shortdesc>),
// and the check of the inventory's options against it. An option the agent does not declare is refused (the agent
// would ignore it with a warning), and so is every option that names a program, a file or a command prefix
// (`ipmitool_path`, `ssh_path`, `sudo_path`, `use_sudo`, `debug_file`, `password_script`, `identity_file`,
// `ssh_options`, `runonfail`, ...): the worker would run or write what the inventory says. The rules read the
// metadata (names, `[path]`/`[file]`/`[script]`/`[command]` in the getopt, "Path to ..." in the description) so
// that an agent's new option of that kind is refused without a list to keep up to date.
import { runProcess, ProcessStartError } from '../process.js';

export interface FenceParameter {
  name: string;
  /** The long option without dashes, e.g. "debug-file"; stdin keys are matched on it too (fencing.py). */
  longopt: string;
  /** `--x=[value]` takes a value; `--x` alone is a flag given as 1/0 on stdin. */
  takesValue: boolean;
  metavar: string;
  type: string;
  choices: string[];
  deprecated: boolean;
  description: string;
}

export interface FenceAgentMetadata {
  agent: string;
  parameters: FenceParameter[];
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}="([^"]*)"`).exec(tag);
  return match ? decodeXml(match[1]!) : undefined;
}

function decodeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** Parses the XML `fence_X -o metadata` prints. Returns undefined when it is not fence-agent metadata. */
export function parseFenceAgentMetadata(xml: string): FenceAgentMetadata | undefined {
  const root = /<resource-agent\b[^>]*>/.exec(xml);
  if (!root) return undefined;
  const parameters: FenceParameter[] = [];
  for (const match of xml.matchAll(/<parameter\b([^>]*)>([\s\S]*?)<\/parameter>/g)) {
    const head = match[1]!;
    const body = match[2]!;
    const name = attribute(head, 'name');
    if (name === undefined) continue;
    const getopt = attribute(/<getopt\b[^>]*>/.exec(body)?.[0] ?? '', 'mixed') ?? '';
    const long = /--([A-Za-z0-9_.-]+)(=?)(\S*)/.exec(getopt);
    const content = /<content\b[^>]*>/.exec(body)?.[0] ?? '';
    parameters.push({
      name,
      longopt: long?.[1] ?? name,
      takesValue: long?.[2] === '=' || /=\S/.test(getopt),
      metavar: long?.[3] ?? '',
      type: attribute(content, 'type') ?? 'string',
      choices: [...body.matchAll(/<option\b[^>]*\bvalue="([^"]*)"/g)].map((option) => decodeXml(option[1]!)),
      deprecated: attribute(head, 'deprecated') === '1',
      description: decodeXml((/<shortdesc\b[^>]*>([\s\S]*?)<\/shortdesc>/.exec(body)?.[1] ?? '').trim()),
    });
  }
  return { agent: attribute(root[0], 'name') ?? '', parameters };
}

// Paths on the fenced device's own API, not on this server.
const REMOTE_PATH_OPTIONS = new Set(['api_path', 'suborg']);
const PROGRAM_OR_FILE_NAME = /(^|[_-])(path|file|filename|logfile|script|exec|executable|binary|command|cmd|dir|directory)$/i;
const PROGRAM_OR_FILE_METAVAR = /^\[(path|file|filename|debugfile|script|command|cmd|dir|directory|executable|binary)\]$/i;
const PROGRAM_OR_FILE_DESCRIPTION = /\b(path to|file path|to (given )?file|config file|certificates? file|file with|script to run|command to execute|supplied command|[\w-]+ binary)\b/i;

/** Why the server refuses an option by its name alone (used also when the agent is not installed here). */
export function dangerousOptionName(key: string): string | undefined {
  const name = key.toLowerCase().replace(/-/g, '_');
  if (REMOTE_PATH_OPTIONS.has(name)) return undefined;
  if (name === 'use_sudo' || name === 'sudo') return 'runs the tools the agent calls through sudo (a command prefix)';
  if (/_options$/.test(name)) return 'passes options to a program the agent runs (ssh -o ProxyCommand=... runs anything)';
  if (name === 'runonfail' || name === 'runonwarn') return 'names a command the agent runs';
  if (['help', 'usage', 'version', 'metadata', 'manpage'].includes(name)) return 'makes the agent print and exit instead of acting (a status would read as "on")';
  if (PROGRAM_OR_FILE_NAME.test(name)) return 'names a program or a file the agent would run, read or write on the server';
  return undefined;
}

/** Why the server refuses a declared parameter, from what the metadata says of it; undefined when it is safe. */
export function dangerousParameter(parameter: FenceParameter): string | undefined {
  if (REMOTE_PATH_OPTIONS.has(parameter.name)) return undefined;
  const byName = dangerousOptionName(parameter.name) ?? dangerousOptionName(parameter.longopt);
  if (byName) return byName;
  if (PROGRAM_OR_FILE_METAVAR.test(parameter.metavar)) return `takes a ${parameter.metavar.slice(1, -1)}: it names a program or a file the agent would run, read or write on the server`;
  if (PROGRAM_OR_FILE_DESCRIPTION.test(parameter.description)) return `names a program or a file the agent would run, read or write on the server ("${parameter.description}")`;
  return undefined;
}

// Set by rescued from the BMC's address and credentials (power/drivers/fence-agent-output.ts writes them).
const SET_BY_RESCUED = new Set(['action', 'ip', 'ipaddr', 'ipport', 'username', 'login', 'password', 'passwd']);
const BOOLEAN_WORDS = new Set(['1', 'yes', 'on', 'true', '0', 'no', 'off', 'false']);

/**
 * The parameters a stdin key means to the agent, as fencing.py reads stdin: a key is an option name, or the long
 * option with `-` and `_` read alike. Several deprecated names may share one long option; all are returned.
 */
export function parametersForKey(metadata: FenceAgentMetadata, key: string): FenceParameter[] {
  const byLongopt = (longopt: string) => metadata.parameters.filter((parameter) => parameter.longopt === longopt);
  const viaLongopt = byLongopt(key.replace(/-/g, '_'));
  const matched = viaLongopt.length > 0 ? viaLongopt : byLongopt(key.replace(/_/g, '-'));
  if (matched.length > 0) return matched;
  return metadata.parameters.filter((parameter) => parameter.name === key);
}

/** The first of these agent options the agent does not declare or that the server refuses, or undefined. */
export function fenceOptionProblem(metadata: FenceAgentMetadata, options: Readonly<Record<string, string>>): { option: string; reason: string } | undefined {
  for (const [key, value] of Object.entries(options)) {
    const byName = dangerousOptionName(key);
    if (byName) return { option: key, reason: byName };
    const parameters = parametersForKey(metadata, key);
    if (parameters.length === 0) {
      const offered = metadata.parameters.filter((p) => !p.deprecated && !SET_BY_RESCUED.has(p.name) && dangerousParameter(p) === undefined).map((p) => p.name);
      return { option: key, reason: `is not an option ${metadata.agent} declares (its options: ${offered.join(', ')})` };
    }
    for (const parameter of parameters) {
      if (SET_BY_RESCUED.has(parameter.name)) return { option: key, reason: 'is set from the BMC address and credentials, not from options' };
      const danger = dangerousParameter(parameter);
      if (danger) return { option: key, reason: danger };
    }
    const parameter = parameters[0]!;
    const trimmed = value.trim();
    if (!parameter.takesValue && !BOOLEAN_WORDS.has(trimmed.toLowerCase())) return { option: key, reason: 'is a flag: give 1 or 0 (yes/no, true/false, on/off)' };
    if (parameter.type === 'select' && parameter.choices.length > 0 && !parameter.choices.includes(trimmed)) return { option: key, reason: `must be one of ${parameter.choices.join(', ')}` };
    if ((parameter.type === 'integer' || parameter.type === 'second') && parameter.takesValue && !/^\d+(\.\d+)?$/.test(trimmed)) return { option: key, reason: 'must be a number' };
  }
  return undefined;
}

/** Runs `fence_X -o metadata` once per agent program and keeps what it declared (a failed run is not kept). */
export class FenceAgentMetadataCache {
  private readonly entries = new Map<string, Promise<FenceAgentMetadata>>();

  constructor(private readonly timeoutMs = 30_000) {}

  metadataOf(agentName: string, executable: string): Promise<FenceAgentMetadata> {
    let entry = this.entries.get(executable);
    if (entry === undefined) {
      entry = this.read(agentName, executable);
      this.entries.set(executable, entry);
      entry.catch(() => this.entries.delete(executable));
    }
    return entry;
  }

  private async read(agentName: string, executable: string): Promise<FenceAgentMetadata> {
    let outcome;
    try {
      outcome = await runProcess({ file: executable, args: ['-o', 'metadata'], timeoutMs: this.timeoutMs, signal: new AbortController().signal });
    } catch (error) {
      if (error instanceof ProcessStartError) throw new Error(`cannot run ${executable} -o metadata (${error.code})`);
      throw error;
    }
    const metadata = outcome.exitCode === 0 ? parseFenceAgentMetadata(outcome.stdout) : undefined;
    if (metadata === undefined) {
      throw new Error(`${agentName} -o metadata ${outcome.timedOut ? 'gave no answer in time' : `exited with ${outcome.exitCode ?? outcome.exitSignal} without its option list`}`);
    }
    return metadata;
  }
}

/** The one cache of the process: an agent's options do not change while the server runs. */
export const fenceAgentMetadata = new FenceAgentMetadataCache();

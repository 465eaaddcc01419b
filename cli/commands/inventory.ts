// `rescuectl distro|profile|system|repo|rescue-env add|edit|list|report|rename|remove`, in Cobbler's shape.
// Each object type is a list of fields; add and edit turn the flags given into the API's body.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { CliError, type ApiClient } from '../api-client.js';
import { printJson, printReport, printTable, type Row } from '../output.js';
import { listRows, withPageOptions, type PageOptions } from '../list-pages.js';
import { parseBoolean, parseList, parseMap, parseNullable, parsePort } from '../option-values.js';

type FieldType = 'string' | 'nullable' | 'list' | 'map' | 'bool' | 'file';
interface Field {
  flag: string;
  key: string;
  type: FieldType;
  help: string;
}

interface ObjectSpec {
  command: string;
  path: string;
  noun: string;
  fields: Field[];
  columns: Array<{ key: string; header: string; value?: (row: Row) => unknown }>;
}

const text = (flag: string, key: string, help: string): Field => ({ flag, key, type: 'string', help });
const comment = text('--comment', 'comment', 'free text');
const kernelOptions = text('--kernel-options', 'kernelOptions', 'kernel command line options, e.g. "console=ttyS0 quiet"');

const OBJECTS: ObjectSpec[] = [
  {
    command: 'distro',
    path: 'distros',
    noun: 'distro',
    fields: [
      text('--kernel', 'kernel', 'path or URL of the installer kernel'),
      text('--initrd', 'initrd', 'path or URL of the installer initrd'),
      text('--arch', 'arch', 'x86_64, aarch64, ...'),
      text('--breed', 'breed', 'OS family: redhat, debian, ubuntu, suse, freebsd, generic'),
      text('--os-version', 'osVersion', 'e.g. 9, 12, 22.04'),
      kernelOptions,
      comment,
    ],
    columns: [
      { key: 'name', header: 'NAME' },
      { key: 'breed', header: 'BREED' },
      { key: 'osVersion', header: 'VERSION' },
      { key: 'arch', header: 'ARCH' },
      { key: 'kernel', header: 'KERNEL' },
    ],
  },
  {
    command: 'profile',
    path: 'profiles',
    noun: 'profile',
    fields: [
      { flag: '--distro', key: 'distro', type: 'nullable', help: 'distro this profile installs (or --parent)' },
      { flag: '--parent', key: 'parent', type: 'nullable', help: 'profile to inherit from (or --distro)' },
      { flag: '--autoinstall', key: 'autoinstall', type: 'nullable', help: 'autoinstall template name' },
      kernelOptions,
      { flag: '--repos', key: 'repos', type: 'list', help: 'repo names, space or comma separated' },
      { flag: '--rescue-policy', key: 'rescuePolicy', type: 'nullable', help: 'diagnose-only | repair | repair-then-reinstall' },
      { flag: '--rescue-env', key: 'rescueEnvironment', type: 'nullable', help: 'pin this rescue environment' },
      { flag: '--netboot-once', key: 'netbootOnce', type: 'bool', help: "turn a system's netboot off when its install finishes (default true)" },
      comment,
    ],
    columns: [
      { key: 'name', header: 'NAME' },
      { key: 'effectiveDistro', header: 'DISTRO' },
      { key: 'parent', header: 'PARENT' },
      { key: 'effectiveRescuePolicy', header: 'RESCUE POLICY' },
      { key: 'repos', header: 'REPOS' },
    ],
  },
  {
    command: 'system',
    path: 'systems',
    noun: 'system',
    fields: [
      text('--profile', 'profile', 'profile the system runs'),
      text('--arch', 'arch', 'x86_64 (default), aarch64, ...'),
      text('--firmware', 'firmware', 'bios (default) | uefi'),
      { flag: '--os-family', key: 'osFamily', type: 'nullable', help: 'redhat, debian, ubuntu, suse, ...' },
      { flag: '--os-version', key: 'osVersion', type: 'nullable', help: 'e.g. 9, 12, 22.04' },
      { flag: '--netboot-enabled', key: 'netbootEnabled', type: 'bool', help: 'true | false' },
      { flag: '--labels', key: 'labels', type: 'map', help: 'key=value pairs, e.g. "rack=r12 row=3"' },
      kernelOptions,
      { flag: '--rescue-policy', key: 'rescuePolicy', type: 'nullable', help: 'diagnose-only | repair | repair-then-reinstall' },
      { flag: '--rescue-env', key: 'rescueEnvironment', type: 'nullable', help: 'pin this rescue environment' },
      comment,
    ],
    columns: [
      { key: 'name', header: 'NAME' },
      { key: 'profile', header: 'PROFILE' },
      { key: 'mac', header: 'MAC', value: (row) => (row.interfaces as Row[])[0]?.mac },
      { key: 'ip', header: 'IP', value: (row) => (row.interfaces as Row[])[0]?.ip },
      { key: 'power', header: 'POWER', value: (row) => (row.power as Row[]).map((p) => `${String(p.type)}@${String(p.address)}`) },
      { key: 'netbootEnabled', header: 'NETBOOT' },
    ],
  },
  {
    command: 'repo',
    path: 'repos',
    noun: 'repo',
    fields: [text('--mirror', 'mirror', 'mirror URL'), text('--arch', 'arch', 'x86_64, aarch64, ...'), comment],
    columns: [
      { key: 'name', header: 'NAME' },
      { key: 'arch', header: 'ARCH' },
      { key: 'mirror', header: 'MIRROR' },
    ],
  },
  {
    command: 'rescue-env',
    path: 'rescue-environments',
    noun: 'rescue environment',
    fields: [
      text('--kernel', 'kernel', 'path or URL of the rescue kernel'),
      text('--initrd', 'initrd', 'path or URL of the rescue initrd'),
      text('--kernel-args', 'kernelArgs', 'kernel arguments template'),
      text('--arch', 'arch', 'x86_64, aarch64, ...'),
      { flag: '--firmware', key: 'firmware', type: 'list', help: 'bios, uefi (default both)' },
      { flag: '--os-families', key: 'osFamilies', type: 'list', help: 'OS families it serves: redhat, debian, ...' },
      { flag: '--os-versions', key: 'osVersions', type: 'list', help: 'versions it serves: 9, 12, * (default *)' },
      { flag: '--capabilities', key: 'capabilities', type: 'list', help: 'ssh, phone-home (default both)' },
      comment,
    ],
    columns: [
      { key: 'name', header: 'NAME' },
      { key: 'arch', header: 'ARCH' },
      { key: 'firmware', header: 'FIRMWARE' },
      { key: 'osFamilies', header: 'OS FAMILIES' },
      { key: 'osVersions', header: 'VERSIONS' },
    ],
  },
  {
    command: 'template',
    path: 'templates',
    noun: 'template',
    fields: [
      text('--kind', 'kind', 'kickstart | preseed | autoyast | cloud-init | script'),
      { flag: '--file', key: 'body', type: 'file', help: 'the template (Liquid, see the README), from this file ("-": standard input)' },
      comment,
    ],
    columns: [
      { key: 'name', header: 'NAME' },
      { key: 'kind', header: 'KIND' },
      { key: 'body', header: 'LINES', value: (row) => String(row.body).split('\n').length },
      { key: 'updatedAt', header: 'UPDATED' },
    ],
  },
];

const INTERFACE_FIELDS: Field[] = [
  text('--mac', 'mac', 'MAC address (52:54:00:12:34:56, 52-54-..., 5254.0012.3456)'),
  { flag: '--ip', key: 'ip', type: 'nullable', help: 'IP address' },
  { flag: '--hostname', key: 'hostname', type: 'nullable', help: 'host name' },
  { flag: '--netmask', key: 'netmask', type: 'nullable', help: 'netmask or prefix length' },
  { flag: '--gateway', key: 'gateway', type: 'nullable', help: 'gateway' },
];
const POWER_FIELDS = ['--power-type', '--power-address', '--power-port', '--power-user', '--power-pass', '--power-options'];

function optionName(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function convert(field: Field, value: string): unknown {
  switch (field.type) {
    case 'string':
      return value;
    case 'nullable':
      return parseNullable(field.flag, value);
    case 'list':
      return parseList(field.flag, value);
    case 'map':
      return parseMap(field.flag, value);
    case 'bool':
      return parseBoolean(field.flag, value);
    case 'file':
      return readTextFile(field.flag, value);
  }
}

function fieldValues(fields: Field[], options: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const field of fields) {
    const value = options[optionName(field.flag)];
    if (typeof value === 'string') body[field.key] = convert(field, value);
  }
  return body;
}

/** The name from the argument or --name, as Cobbler accepts both. */
function objectNameFrom(argument: string | undefined, options: { name?: string }, verb: string, noun: string): string {
  const name = argument ?? options.name;
  if (!name) throw new CliError(`${verb} needs the ${noun}'s name (as an argument or --name)`, 2);
  return name;
}

function readTextFile(flag: string, path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw new CliError(`${flag}: cannot read "${path}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 2);
  }
}

function readPassword(value: string): string {
  if (value !== '-') return value;
  const fromStdin = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (!fromStdin) throw new CliError('--power-pass -: nothing was given on standard input', 2);
  return fromStdin;
}

interface PowerEntry {
  type: string;
  address: string;
  port?: number | null;
  user?: string | null;
  password?: string | null;
  options: Record<string, string>;
}

function applyPowerOptions(options: Record<string, unknown>, current: PowerEntry | undefined): PowerEntry | undefined {
  const given = (flag: string) => options[optionName(flag)] as string | undefined;
  if (!POWER_FIELDS.some((flag) => given(flag) !== undefined)) return current;
  const type = given('--power-type') ?? current?.type;
  const address = given('--power-address') ?? current?.address;
  if (!type || !address) throw new CliError('a BMC needs --power-type and --power-address', 2);
  const entry: PowerEntry = { type, address, port: current?.port ?? null, user: current?.user ?? null, options: current?.options ?? {} };
  if (given('--power-port') !== undefined) entry.port = given('--power-port') === '' ? null : parsePort('--power-port', given('--power-port')!);
  if (given('--power-user') !== undefined) entry.user = given('--power-user') || null;
  if (given('--power-pass') !== undefined) entry.password = given('--power-pass') === '' ? null : readPassword(given('--power-pass')!);
  if (given('--power-options') !== undefined) entry.options = parseMap('--power-options', given('--power-options')!);
  return entry;
}

function interfaceFrom(options: Record<string, unknown>, name: string, current: Row | undefined): Row | undefined {
  const values = fieldValues(INTERFACE_FIELDS, options);
  if (Object.keys(values).length === 0) return current;
  return { ...(current ?? {}), name, ...values };
}

function systemBody(options: Record<string, unknown>, existing: Row | undefined, spec: ObjectSpec): Row {
  const body: Row = fieldValues(spec.fields, options);
  const interfaces = ((existing?.interfaces as Row[] | undefined) ?? []).map((nic) => ({ ...nic }));
  const interfaceName = (options.interface as string | undefined) ?? (interfaces.length === 1 ? String(interfaces[0]!.name) : 'eth0');
  const index = interfaces.findIndex((nic) => nic.name === interfaceName);
  if (options.deleteInterface) {
    if (index < 0) throw new CliError(`--delete-interface: system has no interface "${interfaceName}"`, 2);
    interfaces.splice(index, 1);
    body.interfaces = interfaces;
  } else {
    const updated = interfaceFrom(options, interfaceName, index >= 0 ? interfaces[index] : undefined);
    if (updated !== undefined && updated !== interfaces[index]) {
      if (index >= 0) interfaces[index] = updated;
      else interfaces.push(updated);
      body.interfaces = interfaces;
    }
  }
  const currentPower = ((existing?.power as Row[] | undefined) ?? []).map(({ passwordSet: _ignored, ...entry }) => entry as unknown as PowerEntry);
  if (options.clearPower) body.power = [];
  else {
    const first = applyPowerOptions(options, currentPower[0]);
    if (first !== currentPower[0] && first !== undefined) body.power = [first, ...currentPower.slice(1)];
  }
  return body;
}

function flagForField(spec: ObjectSpec, field: string | undefined): string | undefined {
  if (!field) return undefined;
  const top = field.split('.')[0];
  const all = [...spec.fields, ...INTERFACE_FIELDS];
  const match = all.find((f) => f.key === top) ?? all.find((f) => field.endsWith(`.${f.key}`));
  return match?.flag;
}

function addFieldOptions(command: Command, spec: ObjectSpec): Command {
  for (const field of spec.fields) command.addOption(new Option(`${field.flag} <value>`, field.help));
  if (spec.command === 'system') {
    command.option('--interface <name>', 'interface the --mac/--ip/... flags apply to (default eth0, or the only one)');
    for (const field of INTERFACE_FIELDS) command.addOption(new Option(`${field.flag} <value>`, field.help));
    command
      .option('--power-type <type>', 'BMC driver: ipmi, redfish, or a fence agent (ipmilan, drac5, ...)')
      .option('--power-address <address>', 'BMC address')
      .option('--power-port <port>', 'BMC port')
      .option('--power-user <user>', 'BMC user')
      .option('--power-pass <password>', 'BMC password ("-" reads it from standard input); stored encrypted')
      .option('--power-options <options>', 'driver options as key=value pairs, e.g. "cipher=3 verify_tls=false"');
  }
  return command;
}

export function registerInventoryCommands(program: Command, connect: () => Promise<ApiClient>, json: () => boolean): void {
  for (const spec of OBJECTS) {
    const group = program.command(spec.command).description(`manage ${spec.noun}s`);
    const base = `/api/v1/${spec.path}`;
    const show = (value: Row) => (json() ? printJson(value) : printReport(value));
    const failWithFlag = (error: unknown): never => {
      if (error instanceof CliError) {
        const field = /^invalid body: ([A-Za-z.0-9]+):/.exec(error.message)?.[1];
        const flag = flagForField(spec, field);
        if (flag) throw new CliError(`${error.message} (${flag})`, error.exitCode);
      }
      throw error;
    };

    addFieldOptions(group.command('add').description(`add a ${spec.noun}`).requiredOption('--name <name>', `${spec.noun} name`), spec).action(
      async (options: Record<string, unknown>) => {
        const api = await connect();
        const body = spec.command === 'system' ? systemBody(options, undefined, spec) : fieldValues(spec.fields, options);
        show(await api.request<Row>('POST', base, { name: options.name, ...body }).catch(failWithFlag));
      },
    );

    addFieldOptions(group.command('edit').description(`change a ${spec.noun}; only the flags given change`).argument('[name]').option('--name <name>'), spec)
      .option('--newname <name>', 'rename it')
      .option('--delete-interface', 'with --interface: remove that interface')
      .option('--clear-power', 'remove every BMC of the system')
      .action(async (argument: string | undefined, options: Record<string, unknown>) => {
        const name = objectNameFrom(argument, options as { name?: string }, 'edit', spec.noun);
        const api = await connect();
        const existing = spec.command === 'system' ? await api.request<Row>('GET', `${base}/${encodeURIComponent(name)}`) : undefined;
        const body = spec.command === 'system' ? systemBody(options, existing, spec) : fieldValues(spec.fields, options);
        if (typeof options.newname === 'string') body.name = options.newname;
        if (Object.keys(body).length === 0) throw new CliError('edit: no change given (see --help for the flags)', 2);
        show(await api.request<Row>('PATCH', `${base}/${encodeURIComponent(name)}`, body).catch(failWithFlag));
      });

    withPageOptions(group.command('list').description(`list ${spec.noun}s`))
      .action(async (options: PageOptions) => {
        const rows = await listRows(await connect(), base, options);
        if (json()) printJson(rows);
        else printTable(rows, spec.columns);
      });

    group
      .command('report')
      .description(`show a ${spec.noun} in full (all of them without a name)`)
      .argument('[name]')
      .option('--name <name>')
      .action(async (argument: string | undefined, options: { name?: string }) => {
        const api = await connect();
        const name = argument ?? options.name;
        if (name) return show(await api.request<Row>('GET', `${base}/${encodeURIComponent(name)}`));
        const rows = await listRows(api, base);
        if (json()) return printJson(rows);
        rows.forEach((row, index) => {
          if (index > 0) console.log('');
          printReport(row);
        });
      });

    group
      .command('rename')
      .description(`rename a ${spec.noun}`)
      .argument('[name]')
      .argument('[newname]')
      .option('--name <name>')
      .option('--newname <name>')
      .action(async (argument: string | undefined, newArgument: string | undefined, options: { name?: string; newname?: string }) => {
        const name = objectNameFrom(argument, options, 'rename', spec.noun);
        const newName = newArgument ?? options.newname;
        if (!newName) throw new CliError('rename needs the new name (as a second argument or --newname)', 2);
        show(await (await connect()).request<Row>('PATCH', `${base}/${encodeURIComponent(name)}`, { name: newName }));
      });

    group
      .command('remove')
      .description(`remove a ${spec.noun}`)
      .argument('[name]')
      .option('--name <name>')
      .action(async (argument: string | undefined, options: { name?: string }) => {
        const name = objectNameFrom(argument, options, 'remove', spec.noun);
        await (await connect()).request('DELETE', `${base}/${encodeURIComponent(name)}`);
        if (json()) printJson({ removed: name });
        else console.log(`removed ${spec.noun} ${name}`);
      });
  }
}

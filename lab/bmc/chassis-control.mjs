#!/usr/bin/env node
// The chassis of the simulated machine, as ipmi_sim sees it through its `chassis_control "PROGRAM"` line.
//
//   chassis-control.mjs --state FILE [--events FILE] [--hook PROGRAM] <device> get power|boot ...
//   chassis-control.mjs --state FILE [--events FILE] [--hook PROGRAM] <device> set <parm> <value> ...
//
// ipmi_sim runs this with popen() and reads stdout until end of file, so nothing may keep stdout open after we
// exit: the hook (a later issue points it at QEMU) is started detached with every descriptor closed.
// Output of `get` is one `<parm>:<value>` line per parm; `set` prints nothing on success and an error line and
// a non-zero exit otherwise (ipmi_sim then answers the IPMI request with an error completion code).
//
// State (JSON): { "power": 0|1, "boot": "none"|"pxe"|"default"|"cdrom"|"bios", "powerStuck": boolean, "sequence": n }.
// Every hook call carries RESCUED_CHASSIS_SEQUENCE (n, counted up per event): hooks run detached and may finish
// out of order (a cycle's power-off after its power-on), so the hook can drop an event older than one it applied.
// The boot device is one-time, as `ipmitool chassis bootdev` asks: it is consumed by the next power-on or reset.
// `powerStuck` makes power requests succeed without effect, like a BMC that acknowledges and does nothing.
import { readFileSync, writeFileSync, renameSync, appendFileSync } from 'node:fs';
import { spawn } from 'node:child_process';

const BOOT_DEVICES = new Set(['none', 'pxe', 'default', 'cdrom', 'bios']);

function fail(message) {
  process.stdout.write(`${message}\n`);
  process.exit(1);
}

function parseArguments(argv) {
  const options = { state: undefined, events: undefined, hook: undefined };
  let index = 0;
  while (index < argv.length && argv[index].startsWith('--')) {
    const name = argv[index].slice(2);
    const value = argv[index + 1];
    if (!(name in options) || value === undefined) fail(`chassis-control: bad option ${argv[index]}`);
    options[name] = value;
    index += 2;
  }
  const [device, operation, ...parameters] = argv.slice(index);
  if (!options.state) fail('chassis-control: --state FILE is required');
  if (!device) fail('No device given');
  if (!operation) fail('No operation given');
  return { ...options, device, operation, parameters };
}

function readState(path) {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8'));
    return {
      power: parsed.power === 1 ? 1 : 0,
      boot: BOOT_DEVICES.has(parsed.boot) ? parsed.boot : 'none',
      powerStuck: parsed.powerStuck === true,
      sequence: Number.isInteger(parsed.sequence) ? parsed.sequence : 0,
    };
  } catch (error) {
    if (error.code === 'ENOENT') return { power: 0, boot: 'none', powerStuck: false, sequence: 0 };
    throw error;
  }
}

function writeState(path, state) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state)}\n`);
  renameSync(temporary, path);
}

function recordEvent(options, event, state) {
  state.sequence += 1;
  if (options.events) {
    appendFileSync(options.events, `${JSON.stringify({ at: new Date().toISOString(), device: options.device, ...event })}\n`);
  }
  if (options.hook) {
    const args = [event.action];
    if (event.bootDevice) args.push(event.bootDevice);
    const env = { ...process.env, RESCUED_CHASSIS_SEQUENCE: String(state.sequence) };
    const child = spawn(options.hook, args, { detached: true, stdio: 'ignore', env });
    child.on('error', () => {});
    child.unref();
  }
}

// A power-on or a reset boots the machine: it boots from the one-time device, which is then used up.
function boot(state, options, action) {
  const bootDevice = state.boot === 'none' ? 'default' : state.boot;
  recordEvent(options, { action, bootDevice }, state);
  state.boot = 'none';
}

function get(state, parameters) {
  for (const parameter of parameters) {
    if (parameter === 'power') process.stdout.write(`power:${state.power}\n`);
    else if (parameter === 'boot') process.stdout.write(`boot:${state.boot}\n`);
    else fail(`Invalid parameter: ${parameter}`);
  }
}

function set(state, options, parameters) {
  for (let index = 0; index < parameters.length; index += 2) {
    const parameter = parameters[index];
    const value = parameters[index + 1];
    if (value === undefined) fail(`No value present for parameter ${parameter}`);
    switch (parameter) {
      case 'power': {
        const wanted = value === '1' ? 1 : 0;
        if (state.powerStuck) {
          recordEvent(options, { action: 'power-ignored', value: wanted }, state);
        } else if (wanted !== state.power) {
          state.power = wanted;
          if (wanted === 1) boot(state, options, 'power-on');
          else recordEvent(options, { action: 'power-off' }, state);
        }
        break;
      }
      case 'reset':
        if (state.powerStuck) recordEvent(options, { action: 'reset-ignored' }, state);
        else if (state.power === 0) fail('Cannot reset: the machine is powered off');
        else boot(state, options, 'reset');
        break;
      case 'shutdown':
        if (state.powerStuck) recordEvent(options, { action: 'shutdown-ignored' }, state);
        else if (state.power === 1) {
          state.power = 0;
          recordEvent(options, { action: 'soft-off' }, state);
        }
        break;
      case 'boot':
        if (!BOOT_DEVICES.has(value)) fail(`Invalid boot value: ${value}`);
        state.boot = value;
        recordEvent(options, { action: 'boot-device', bootDevice: value }, state);
        break;
      case 'identify':
        // identify carries two values (interval and force); nothing to keep.
        index += 1;
        break;
      default:
        fail(`Invalid parameter: ${parameter}`);
    }
  }
}

const options = parseArguments(process.argv.slice(2));
const state = readState(options.state);
switch (options.operation) {
  case 'get':
    get(state, options.parameters);
    break;
  case 'set':
    set(state, options, options.parameters);
    writeState(options.state, state);
    break;
  case 'check':
    process.exit(1);
    break;
  default:
    fail(`Unknown operation: ${options.operation}`);
}

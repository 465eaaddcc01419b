// Power a lab VM on and off from outside: a BMC simulator's chassis control, a shell, a test.
//
//   vm-power-command.ts start   STATE_DIR [network|disk]   start QEMU (detached) unless it runs; prints "started PID DEVICE"
//   vm-power-command.ts stop    STATE_DIR                  stop QEMU; prints "stopped" or "already stopped"
//   vm-power-command.ts restart STATE_DIR [network|disk]   stop, then start (a reset or power cycle)
//   vm-power-command.ts status  STATE_DIR                  prints "running PID DEVICE" (exit 0) or "stopped" (exit 3)
//   vm-power-command.ts hook    STATE_DIR ACTION [DEVICE]  lab/bmc/chassis-control.sh's hook protocol: ACTION is
//                                                  power-on | reset (DEVICE pxe|default|...) | power-off | soft-off;
//                                                  other actions (boot-device, *-ignored) do nothing
//   vm-power-command.ts ACTION [DEVICE]                    the same hook, with STATE_DIR from $RESCUED_VM_STATE_DIR, so
//                                                  lab/vm/vm-power-command.sh can be given to chassis-control as --hook
//
// STATE_DIR holds vm.json (see vm-power.ts). Run from the project root with `node --import tsx`, or anywhere
// through lab/vm/vm-power-command.sh. Errors go to stderr with exit 1.
import { applyChassisEvent, powerOffVm, powerOnVm, resetVm, vmPowerStatus, type VmBootDevice } from './vm-power.js';

const HOOK_ACTIONS = new Set(['power-on', 'power-off', 'reset', 'soft-off', 'boot-device', 'power-ignored', 'reset-ignored', 'shutdown-ignored']);

function usage(): never {
  process.stderr.write('usage: vm-power-command.ts start|stop|restart|status STATE_DIR [network|disk] | hook STATE_DIR ACTION [DEVICE]\n');
  process.exit(2);
}

function parseBootDevice(word: string | undefined): VmBootDevice | undefined {
  if (word === undefined) return undefined;
  if (word === 'network' || word === 'disk') return word;
  throw new Error(`boot device must be network or disk, not ${JSON.stringify(word)}`);
}

async function hook(stateDirectory: string, action: string, device: string | undefined): Promise<void> {
  if (action === 'power-on' || action === 'reset' || action === 'power-off' || action === 'soft-off') {
    // chassis-control numbers its events: an event older than one already applied is dropped.
    const sequenceText = process.env.RESCUED_CHASSIS_SEQUENCE?.trim();
    const sequence = sequenceText && /^\d+$/.test(sequenceText) ? Number(sequenceText) : undefined;
    const { applied, status } = await applyChassisEvent(stateDirectory, action, device, sequence);
    if (!applied) process.stdout.write(`stale event ${sequence}: ${status.running ? `running ${status.pid}` : 'stopped'}\n`);
    else process.stdout.write(status.running ? `started ${status.pid} ${status.bootDevice ?? ''}\n` : 'stopped\n');
    return;
  }
  if (!HOOK_ACTIONS.has(action)) throw new Error(`unknown chassis action ${JSON.stringify(action)}`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) usage();
  if (HOOK_ACTIONS.has(command)) {
    const stateDirectory = process.env.RESCUED_VM_STATE_DIR;
    if (!stateDirectory) throw new Error(`${command}: set RESCUED_VM_STATE_DIR, or use: vm-power-command.ts hook STATE_DIR ${command}`);
    await hook(stateDirectory, command, rest[0]);
    return 0;
  }
  const [stateDirectory, argument, extra] = rest;
  if (stateDirectory === undefined) usage();
  switch (command) {
    case 'start': {
      const result = await powerOnVm(stateDirectory, parseBootDevice(argument));
      process.stdout.write(`${result.alreadyRunning ? 'already running' : 'started'} ${result.pid} ${result.bootDevice ?? ''}\n`);
      return 0;
    }
    case 'restart': {
      const result = await resetVm(stateDirectory, parseBootDevice(argument));
      process.stdout.write(`started ${result.pid} ${result.bootDevice ?? ''}\n`);
      return 0;
    }
    case 'stop': {
      const result = await powerOffVm(stateDirectory);
      process.stdout.write(result.wasRunning ? 'stopped\n' : 'already stopped\n');
      return 0;
    }
    case 'status': {
      const status = vmPowerStatus(stateDirectory);
      process.stdout.write(status.running ? `running ${status.pid} ${status.bootDevice ?? ''}\n` : 'stopped\n');
      return status.running ? 0 : 3;
    }
    case 'hook':
      if (argument === undefined) usage();
      await hook(stateDirectory, argument, extra);
      return 0;
    default:
      usage();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`vm-power-command: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

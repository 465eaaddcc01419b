import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyAgentStderr,
  fenceActionFor,
  fenceStdin,
  meaningfulAgentStderr,
  powerStateFromStatusExit,
} from '../../power/drivers/fence-agent-output.js';
import { readFenceAgentSettings } from '../../power/drivers/fence-agent.js';
import { isPresencePong, presencePingPacket } from '../../power/drivers/rmcp-ping.js';

test('status exit codes: 0 on, 2 off, anything else an error', () => {
  assert.equal(powerStateFromStatusExit(0), 'on');
  assert.equal(powerStateFromStatusExit(2), 'off');
  assert.equal(powerStateFromStatusExit(1), null);
  assert.equal(powerStateFromStatusExit(null), null);
  assert.equal(powerStateFromStatusExit(3), null);
});

test('power actions to fence actions; no graceful shutdown', () => {
  assert.equal(fenceActionFor('on'), 'on');
  assert.equal(fenceActionFor('off'), 'off');
  assert.equal(fenceActionFor('cycle'), 'reboot');
  assert.equal(fenceActionFor('reset'), 'reboot');
  assert.equal(fenceActionFor('soft'), null);
});

test('stdin carries the action, address, credentials and options; verbose added', () => {
  const stdin = fenceStdin({
    action: 'status',
    address: '10.0.0.9',
    port: 6230,
    username: 'admin',
    password: 'pa ss=word',
    agentOptions: { lanplus: '1', cipher: '3' },
  });
  assert.ok('text' in stdin);
  assert.equal(stdin.text, 'action=status\nip=10.0.0.9\nipport=6230\nusername=admin\npassword=pa ss=word\nlanplus=1\ncipher=3\nverbose=1\n');
});

test('options cannot add lines, replace the action or the password', () => {
  const base = { action: 'off' as const, address: 'pdu1', port: undefined, username: undefined, password: 'x', agentOptions: {} };
  assert.deepEqual(fenceStdin({ ...base, agentOptions: { plug: '3\naction=on' } }), { badOption: 'plug', reason: 'the value contains a line break' });
  assert.equal((fenceStdin({ ...base, agentOptions: { action: 'on' } }) as { badOption: string }).badOption, 'action');
  assert.equal((fenceStdin({ ...base, agentOptions: { passwd: 'y' } }) as { badOption: string }).badOption, 'passwd');
  assert.equal((fenceStdin({ ...base, agentOptions: { 'bad key': 'y' } }) as { badOption: string }).badOption, 'bad key');
  assert.deepEqual(fenceStdin({ ...base, password: 'a\nb' }), { badOption: 'password', reason: 'the value contains a line break' });
  assert.equal((fenceStdin({ ...base, agentOptions: { verbose: '0' } }) as { text: string }).text, 'action=off\nip=pdu1\npassword=x\nverbose=0\n');
});

test("rescued's own options are not passed to the agent", () => {
  const settings = readFenceAgentSettings(
    { systemName: 's', type: 'ipmilan', address: '10.0.0.9', options: { lanplus: '1', retries: '0', readback_timeout: '5', driver_timeout: '30' } },
    'fence_ipmilan',
    '/usr/sbin/fence_ipmilan',
  );
  assert.deepEqual(settings.agentOptions, { lanplus: '1' });
  assert.equal(settings.retry.retries, 0);
});

// fence_ipmilan 4.12 (Debian bookworm), verbose=1, against ipmi_sim.
const WRONG_PASSWORD = `/usr/sbin/fence_ipmilan:5: DeprecationWarning: 'pipes' is deprecated and slated for removal in Python 3.13
  from pipes import quote
2026-11-25 22:54:05,776 INFO: Executing: /usr/bin/ipmitool -I lanplus -H 127.0.0.1 -p 9623 -U admin -P [set] -C 3 -L ADMINISTRATOR -N 2 chassis power status

2026-11-25 22:54:05,811 DEBUG: 1  Error: Unable to establish IPMI v2 / RMCP+ session


2026-11-25 22:54:05,811 ERROR: Failed: Unable to obtain correct plug status or plug is not available
`;

test('agent stderr without warnings, timestamps and the command trace', () => {
  assert.deepEqual(meaningfulAgentStderr(WRONG_PASSWORD), [
    'Error: Unable to establish IPMI v2 / RMCP+ session',
    'ERROR: Failed: Unable to obtain correct plug status or plug is not available',
  ]);
});

test('agent failures by kind', () => {
  assert.equal(classifyAgentStderr(WRONG_PASSWORD).kind, 'ipmi-session-refused');
  assert.equal(classifyAgentStderr('2026-11-25 22:56:25,157 ERROR: Connection timed out\n').kind, 'timeout');
  assert.equal(classifyAgentStderr('ERROR: Unable to connect/login to fencing device\n').kind, 'auth');
  assert.equal(classifyAgentStderr('ERROR: Failed: Unable to connect to 10.0.0.9: Connection refused\n').kind, 'unreachable');
  assert.equal(classifyAgentStderr('ERROR: Failed: You have to enter fence address\n').kind, 'invalid-config');
  const other = classifyAgentStderr('ERROR: Failed: Unable to obtain correct plug status or plug is not available\n');
  assert.equal(other.kind, 'rejected');
  assert.match(other.said, /plug status/);
});

test('RMCP presence ping and pong', () => {
  assert.deepEqual([...presencePingPacket(7)], [0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, 0x07, 0x00, 0x00]);
  const pong = Buffer.from([0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x40, 0x07, 0x00, 0x10, ...new Array(16).fill(0)]);
  assert.equal(isPresencePong(pong, 7), true);
  assert.equal(isPresencePong(pong, 8), false);
  assert.equal(isPresencePong(Buffer.from([0x06]), 7), false);
});

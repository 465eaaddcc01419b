// The label rescued.devices: the only disks a rescue examines and repairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { devicesLabel } from '../../activities/rescue.js';

test('rescued.devices names absolute device paths, comma-separated; unset or empty names none', () => {
  assert.deepEqual(devicesLabel('/dev/sda'), ['/dev/sda']);
  assert.deepEqual(devicesLabel(' /dev/sda , /dev/nvme0n1 '), ['/dev/sda', '/dev/nvme0n1']);
  assert.deepEqual(devicesLabel('/tmp/lab/disk.raw'), ['/tmp/lab/disk.raw']);
  assert.equal(devicesLabel(undefined), undefined);
  assert.equal(devicesLabel(' , '), undefined);
});

test('rescued.devices refuses anything but an absolute path, naming the label and the entry', () => {
  for (const bad of ['sda', '/dev/sda;reboot', '/dev/sd a', '$(reboot)', '/dev/sda\n/dev/sdb']) {
    assert.throws(() => devicesLabel(bad), (error: Error) => /rescued\.devices/.test(error.message) && error.message.includes('is not an absolute device path'), bad);
  }
});

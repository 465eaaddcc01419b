// Pure parts of the vendor handling: reset fallbacks, empty AllowableValues, Dell's UefiTarget read-back,
// weak ETags, and ipmitool's mc info.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowableValues, bootReadingFromRedfish, planReset } from '../../power/drivers/redfish-mapping.js';
import { etagOf, strongForm } from '../../power/drivers/redfish-boot.js';
import { parseMcInfo } from '../../power/drivers/ipmitool-output.js';
import { compareBootReading } from '../../power/readback.js';

test('reset without ForceRestart or PowerCycle, and soft without GracefulShutdown', () => {
  assert.deepEqual(planReset('reset', ['On', 'ForceOff']), [{ resetType: 'ForceOff', thenWaitFor: 'off' }, { resetType: 'On' }]);
  assert.deepEqual(planReset('soft', ['On', 'ForceOff', 'ForceRestart', 'Nmi', 'PushPowerButton']), [{ resetType: 'PushPowerButton' }]);
  assert.deepEqual(planReset('soft', ['On', 'ForceOff']), null);
  assert.deepEqual(planReset('cycle', []), [{ resetType: 'PowerCycle' }], 'an empty list says nothing: the standard list');
});

test('an empty AllowableValues list counts as not advertised', () => {
  assert.equal(allowableValues({ 'ResetType@Redfish.AllowableValues': [] }, 'ResetType'), null);
  assert.deepEqual(allowableValues({ 'ResetType@Redfish.AllowableValues': ['On'] }, 'ResetType'), ['On']);
});

test('UefiTarget or UefiHttp after a Pxe override read as pxe, with a note that becomes a warning', () => {
  const boot = { BootSourceOverrideTarget: 'UefiTarget', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'UEFI' };
  const reading = bootReadingFromRedfish(boot, 'pxe');
  assert.equal(reading.device, 'pxe');
  assert.equal(compareBootReading({ device: 'pxe', uefi: true }, reading).matches, true);
  assert.match(compareBootReading({ device: 'pxe', uefi: true }, reading).warnings.join(), /UefiTarget/);
  assert.equal(bootReadingFromRedfish(boot).device, 'other', 'without a pxe request it stays what it is');
  assert.equal(bootReadingFromRedfish({ ...boot, BootSourceOverrideTarget: 'UefiHttp' }, 'pxe').device, 'pxe');
});

test('ETags from the header or @odata.etag; weak ones have a strong form', () => {
  assert.equal(etagOf({ etag: 'W/"7"' }, {}), 'W/"7"');
  assert.equal(etagOf({}, { '@odata.etag': 'W/"abc"' }), 'W/"abc"');
  assert.equal(etagOf({}, {}), undefined);
  assert.equal(strongForm('W/"7"'), '"7"');
  assert.equal(strongForm('"7"'), '"7"');
});

test('mc info: manufacturer by name, or by IANA number when ipmitool does not know it', () => {
  const info = parseMcInfo('Device ID                 : 32\nFirmware Revision         : 4.40\nIPMI Version              : 2.0\nManufacturer ID           : 674\nManufacturer Name         : Unknown (0x2A2)\nProduct ID                : 256 (0x0100)\nProduct Name              : Unknown (0x100)\n');
  assert.deepEqual(info, { manufacturerId: 674, manufacturer: 'Dell Inc.', product: '256 (0x0100)', firmware: '4.40', ipmiVersion: '2.0' });
});

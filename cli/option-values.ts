// Turning command-line strings into the API's values, with errors that name the flag.
import { CliError } from './api-client.js';

export function parseList(flag: string, value: string): string[] {
  const items = value.split(/[\s,]+/).filter(Boolean);
  if (items.length === 0 && value.trim() !== '') throw new CliError(`${flag}: "${value}" is not a list`, 2);
  return items;
}

export function parseMap(flag: string, value: string): Record<string, string> {
  const entries = value.split(/[\s,]+/).filter(Boolean);
  const map: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new CliError(`${flag}: "${entry}" is not key=value`, 2);
    map[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return map;
}

export function parseBoolean(flag: string, value: string): boolean {
  const normalized = value.trim().toLowerCase();
  if (['true', 'yes', 'y', '1', 'on'].includes(normalized)) return true;
  if (['false', 'no', 'n', '0', 'off'].includes(normalized)) return false;
  throw new CliError(`${flag}: "${value}" is not true or false`, 2);
}

export function parsePort(flag: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`${flag}: "${value}" is not a port number (1-65535)`, 2);
  return port;
}

/** An empty value clears a reference ("--parent ''"). */
export function parseNullable(_flag: string, value: string): string | null {
  return value.trim() === '' ? null : value.trim();
}

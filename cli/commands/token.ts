// `rescuectl token create|list|remove`: API tokens with roles (admin only).
import type { Command } from 'commander';
import { listRows, withPageOptions, type PageOptions } from '../list-pages.js';
import { CliError, type ApiClient } from '../api-client.js';
import { printJson, printTable, type Row } from '../output.js';

const ROLES = ['viewer', 'operator', 'admin'];

export function registerTokenCommands(program: Command, connect: () => Promise<ApiClient>, json: () => boolean): void {
  const group = program.command('token').description('manage API tokens (admin)');
  group
    .command('create')
    .description('create a token; it is printed once and cannot be shown again')
    .requiredOption('--role <role>', 'viewer | operator | admin')
    .option('--name <name>', 'a name for the token (default: <role>-<time>)')
    .action(async (options: { role: string; name?: string }) => {
      if (!ROLES.includes(options.role)) throw new CliError(`--role: "${options.role}" is not a role (viewer, operator or admin)`, 2);
      const name = options.name ?? `${options.role}-${Date.now().toString(36)}`;
      const created = await (await connect()).request<Row>('POST', '/api/v1/tokens', { name, role: options.role });
      if (json()) printJson(created);
      else console.log(`${String(created.token)}\n(token "${name}", role ${options.role}; store it now, it is not shown again)`);
    });
  withPageOptions(group.command('list').description('list tokens (names and roles, never the tokens)'))
    .action(async (options: PageOptions) => {
      const rows = await listRows(await connect(), '/api/v1/tokens', options);
      if (json()) printJson(rows);
      else
        printTable(rows, [
          { key: 'name', header: 'NAME' },
          { key: 'role', header: 'ROLE' },
          { key: 'createdAt', header: 'CREATED' },
          { key: 'lastUsedAt', header: 'LAST USED' },
        ]);
    });
  group
    .command('remove')
    .description('revoke a token')
    .argument('<name>')
    .action(async (name: string) => {
      await (await connect()).request('DELETE', `/api/v1/tokens/${encodeURIComponent(name)}`);
      console.log(`removed token ${name}`);
    });
}

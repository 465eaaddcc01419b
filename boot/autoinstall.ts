// Autoinstall templates (kickstart, preseed, autoyast, cloud-init) in nunjucks, a Jinja-like language
// Cobbler users know. Undefined variables are errors, so a typo fails the preview, not the install.
import nunjucks from 'nunjucks';

export class TemplateRenderError extends Error {
  override readonly name = 'TemplateRenderError';
  constructor(
    readonly template: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const environment = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true });

/** "Template render error: (name) [Line 3, Column 9]\n  msg" → the line and the short message. */
function describeNunjucksError(templateName: string, error: Error): TemplateRenderError {
  const text = error.message;
  const line = /\[Line (\d+)(?:, Column \d+)?\]/.exec(text)?.[1];
  const detail = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('Template render error') && !l.startsWith('('))
    .join(' ');
  return new TemplateRenderError(
    templateName,
    line === undefined ? undefined : Number(line),
    `template "${templateName}"${line ? `, line ${line}` : ''}: ${detail || text.replace(/\s+/g, ' ')}`,
  );
}

export function renderAutoinstallTemplate(templateName: string, body: string, variables: Record<string, unknown>): string {
  try {
    const template = new nunjucks.Template(body, environment, templateName, true);
    return template.render(variables);
  } catch (error) {
    throw describeNunjucksError(templateName, error as Error);
  }
}

/** The kernel argument that points a distro's installer at its autoinstall file. */
export function autoinstallKernelArgument(breed: string, kind: string, url: string): string {
  if (kind === 'cloud-init') return `autoinstall ds=nocloud-net;s=${url}/`;
  switch (breed) {
    case 'redhat':
      return `inst.ks=${url}`;
    case 'debian':
    case 'ubuntu':
      return `auto=true priority=critical url=${url}`;
    case 'suse':
      return `autoyast=${url}`;
    default:
      return `autoinstall=${url}`;
  }
}

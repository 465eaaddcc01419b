// Secrets out of text that is shown or logged: the tokens machines carry on the provisioning network (a
// rescue's phone-home token in its callback path and kernel arguments, an install's status token in a
// query string) are bearer credentials, so no log line, API preview or stored display copy may hold one.

export const REDACTED = '[redacted]';

/** The text with every occurrence of each secret replaced (empty secrets are ignored). */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (secret.length > 0) result = result.split(secret).join(REDACTED);
  return result;
}

/** Query parameters whose value is a credential, whatever the route. */
const SECRET_QUERY_PARAMETERS = /([?&](?:token|access_token|rescued\.token)=)[^&#]*/gi;
/** Path segments that are a credential: /boot/rescue/<token>/... */
const SECRET_PATH_SEGMENTS = /(\/boot\/rescue\/)[^/?#]+/gi;
/** Kernel arguments that carry one: rescued.token=<token>, and the callback URL holding it. */
const SECRET_KERNEL_ARGUMENTS = /(rescued\.token=)\S+/g;

/** A request URL fit for a log line: tokens in the path or the query string replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PATH_SEGMENTS, `$1${REDACTED}`).replace(SECRET_QUERY_PARAMETERS, `$1${REDACTED}`);
}

/** Any text (an error message, a kernel command line) with the token-carrying parts above replaced. */
export function redactTokens(text: string): string {
  return redactUrl(text).replace(SECRET_KERNEL_ARGUMENTS, `$1${REDACTED}`);
}

/** The user information of every URL in the text (http://user:password@host) replaced, for messages and logs. */
export function withoutUrlCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi, `$1${REDACTED}@`);
}

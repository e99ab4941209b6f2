/**
 * The few lines a person starting the service needs: where everything is and the token to call it
 * with. Written to stdout for a human, never through the logger: it may hold a token.
 */
import type { RunningApp } from './app.ts';
import type { AppConfig } from './config.ts';

export function startBanner(running: RunningApp, config: AppConfig): string {
  const ws = running.url.replace(/^http/, 'ws');
  const rows: [string, string][] = [['Console', `${running.url}/console`]];
  if (config.graphiql) rows.push(['GraphiQL', `${running.url}/graphql`]);
  else rows.push(['GraphQL', `${running.url}/graphql`]);
  rows.push(['WebSocket', `${ws}/graphql`]);
  rows.push(['Webhook', running.webhookUrl]);
  if (running.sandbox) rows.push(['Sandbox', `${running.url}/sandbox`]);
  const token = running.adminToken;
  if (!token) rows.push(['Admin token', 'none (set ADMIN_TOKEN)']);
  else if (token.generated) rows.push(['Admin token', `${token.value}  (generated for development; set ADMIN_TOKEN to choose one)`]);
  else rows.push(['Admin token', 'the value of ADMIN_TOKEN']);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
  const hints: string[] = [];
  if (token?.generated) hints.push('  Open the console in a browser on this machine: it signs in with the token.');
  if (config.graphiql && token) hints.push('  Open GraphiQL in a browser on this machine: it starts with the token and a walk-through.');
  return ['', 'whatsapp-graphql is running', '', ...lines, ...(hints.length ? ['', ...hints] : []), ''].join('\n') + '\n';
}

/**
 * One Chromium per run for the console's browser tests (a launch per file cost each file seconds
 * on a busy machine). It is launched only when a test file first asks for it (a run without
 * console files starts no browser, and a machine without Chromium fails only those files, with
 * the message of test/helpers/browser.ts): the test processes ask this process over a local HTTP
 * endpoint, which answers the browser server's WebSocket endpoint. Each file connects to it and
 * opens its own contexts, so no page shares anything with another file's.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserServer } from 'playwright-core';
import type { TestProject } from 'vitest/node';

const CHROMIUM = '/usr/bin/chromium';

// The machine has no network: nothing of Chromium's own may try to reach out.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium with a fresh profile (playwright gives the server its own --user-data-dir). */
async function launchBrowserServer(): Promise<BrowserServer> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The console's browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (.ci/run does when it is missing).`);
  }
  return chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Answers the run's Chromium server's WebSocket endpoint (launching it at the first ask). */
    browserLauncherUrl: string;
  }
}

export default async function setup(project: TestProject) {
  let launched: Promise<BrowserServer> | undefined;
  const server = createServer((_req, res) => {
    launched ??= launchBrowserServer();
    launched.then(
      (browser) => res.writeHead(200, { 'content-type': 'text/plain' }).end(browser.wsEndpoint()),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(error instanceof Error ? error.message : String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('browserLauncherUrl', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return async () => {
    await new Promise((resolve) => server.close(resolve));
    await launched?.then((browser) => browser.close(), () => {});
  };
}

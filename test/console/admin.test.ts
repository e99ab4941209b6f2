/**
 * The console's admin screen in a real browser against the app on the sandbox: the provider
 * integration as it is; API tokens made with a role and a session scope (the value shown once,
 * copied, never again), signed in with, rotated with an overlap and revoked (a page signed in with
 * it is signed out). What a token may not do is not offered.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { fileBrowser, filePages, openPage, overflowsSideways, PHONE, screenshot, signIn, type ConsolePage } from '../helpers/browser.ts';
import { ApiTokens, ViewerQuery } from '../access/documents.ts';
import { serveSandbox } from '../../src/sandbox/serve.ts';
import { CreateSession, ProviderSettings } from '../sessions/documents.ts';

const browser = fileBrowser();

describe('the console: admin', () => {
  let app: TestApp;
  const pages = filePages(browser);
  const open = pages.open;
  /** Values the admin screen showed, by token name. */
  const shown = new Map<string, string>();
  beforeAll(async () => {
    app = await startTestApp();
    for (const [name, phoneNumber] of [
      ['Shop', '+255712000301'],
      ['Warehouse', '+255712000302'],
    ]) {
      await app.data(CreateSession, { input: { name: name!, phoneNumber: phoneNumber! } });
    }
    // A cold start (database, browser) on a busy machine.
  }, 120_000);
  afterAll(async () => {
    await pages.closeAll();
    await app?.stop();
  });

  async function openAdmin(page: Page) {
    await signIn(page, app);
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'Admin', level: 1 }).waitFor();
  }

  /** Makes a token through the screen; returns the value it showed (once). */
  async function createToken(page: Page, name: string, role: 'Admin' | 'Agent' | 'Viewer', sessions: string[] | 'every') {
    const tokens = page.getByRole('region', { name: 'API tokens' });
    await tokens.getByRole('button', { name: 'New token' }).click();
    await tokens.getByLabel('Name').fill(name);
    await tokens.getByRole('radio', { name: role }).check();
    if (sessions !== 'every') {
      await tokens.getByRole('radio', { name: 'Only these sessions' }).check();
      for (const session of sessions) await tokens.getByRole('checkbox', { name: new RegExp(`^${session}`) }).check();
    }
    await tokens.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByRole('region', { name: 'New token value' });
    await secret.getByText(`Token “${name}” made. Copy it now: it is not shown again.`).waitFor();
    const value = await secret.getByLabel('Token value').inputValue();
    shown.set(name, value);
    return value;
  }

  it('shows the provider integration: the sandbox stands in with its own token, and there is nothing to verify', async () => {
    const { page, problems } = await open();
    await openAdmin(page);
    const provider = page.getByRole('region', { name: 'Provider' });
    await provider.getByText('Built-in sandbox (no real WhatsApp traffic)').waitFor();
    await provider.getByText('the built-in sandbox’s own token').waitFor();
    await provider.getByText('there is no token to set or verify while it is on').waitFor();
    expect(await provider.getByRole('button', { name: 'Verify and save' }).count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('makes a token scoped to one session, shown once with a Copy button; signed in with it, only that session is there', async () => {
    const { page, problems } = await open();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await openAdmin(page);
    const value = await createToken(page, 'Front desk', 'Agent', ['Shop']);
    await screenshot(page, 'admin-token-shown');
    const secret = page.getByRole('region', { name: 'New token value' });
    await secret.getByRole('button', { name: 'Copy' }).click();
    await secret.getByRole('status').getByText('Copied.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(value);
    await secret.getByRole('button', { name: 'Done' }).click();
    // Never again: not on the page, not in the list, not after a reload.
    expect(await page.content()).not.toContain(value);
    const card = page.getByRole('article', { name: 'Front desk' });
    await card.getByText(`…${value.slice(-4)}`).waitFor();
    await card.getByText('Shop', { exact: true }).waitFor();
    await page.reload();
    await page.getByRole('article', { name: 'Front desk' }).waitFor();
    expect(await page.content()).not.toContain(value);
    const { apiTokens } = await app.data(ApiTokens, { first: 50 });
    const made = apiTokens.edges.map((e) => e.node).find((t) => t.name === 'Front desk');
    expect(made).toMatchObject({ role: 'AGENT', allSessions: false, tokenHint: value.slice(-4) });
    expect(made!.sessions).toHaveLength(1);
    expect((await app.execute(ViewerQuery, {}, { token: value })).data?.viewer).toMatchObject({ role: 'AGENT', allSessions: false });

    const agent = await open();
    await signIn(agent.page, app, value);
    await agent.page.getByRole('article', { name: 'Shop' }).waitFor();
    expect(await agent.page.getByRole('article').count()).toBe(1);
    // An agent sends (bulk too) but manages neither sessions nor tokens.
    expect(await agent.page.getByRole('link', { name: 'Bulk send' }).count()).toBe(1);
    expect(await agent.page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    expect(await agent.page.getByRole('button', { name: /^(New session|Connect|Delete)$/ }).count()).toBe(0);
    expect([...problems, ...agent.problems]).toEqual([]);
  });

  it('a viewer sees every session but no Connect, Send or admin: only reading', async () => {
    const { page, problems } = await open();
    await openAdmin(page);
    const value = await createToken(page, 'Wall screen', 'Viewer', 'every');
    const viewer = await open();
    await signIn(viewer.page, app, value);
    await viewer.page.getByRole('article', { name: 'Warehouse' }).waitFor();
    expect(await viewer.page.getByRole('article').count()).toBe(2);
    expect(await viewer.page.getByRole('button', { name: /^(New session|Connect|Delete|Send)$/ }).count()).toBe(0);
    expect(await viewer.page.getByRole('link', { name: /^(Bulk send|Admin)$/ }).count()).toBe(0);
    await viewer.page.getByRole('link', { name: 'Shop' }).click();
    await viewer.page.getByRole('heading', { name: 'Shop', level: 1 }).waitFor();
    expect(await viewer.page.getByRole('button', { name: /^(Connect|Save settings)$/ }).count()).toBe(0);
    expect(await viewer.page.getByRole('link', { name: 'Bulk send through this session' }).count()).toBe(0);
    // Typed in by hand, the admin screen says no (and the API would refuse anyway).
    await viewer.page.goto(`${app.url}/console/admin`);
    await viewer.page.getByText('Only an admin token may see this screen.').waitFor();
    expect(await viewer.page.getByRole('region', { name: 'API tokens' }).count()).toBe(0);
    await screenshot(viewer.page, 'viewer-admin-refused');
    expect([...problems, ...viewer.problems]).toEqual([]);
  });

  it('rotates a token with an overlap (the new value shown once, the old one still working), then revokes it: a page signed in with it is signed out', async () => {
    const old = shown.get('Front desk')!;
    const agent = await open();
    await signIn(agent.page, app, old);

    const { page, problems } = await open();
    await openAdmin(page);
    const card = page.getByRole('article', { name: 'Front desk' });
    await card.getByRole('button', { name: 'Rotate' }).click();
    await card.getByLabel('The old value keeps working for').selectOption({ label: '1 hour' });
    await card.getByRole('button', { name: 'Yes, rotate' }).click();
    const secret = page.getByRole('region', { name: 'New token value' });
    await secret.getByText('New value for “Front desk”.', { exact: false }).waitFor();
    await secret.getByText('The old value keeps working until').waitFor();
    const rotated = await secret.getByLabel('Token value').inputValue();
    expect(rotated).not.toBe(old);
    await card.getByText('Old value until').waitFor();
    await card.getByText(`…${rotated.slice(-4)}`).waitFor();
    await screenshot(page, 'admin-rotated');
    expect((await app.execute(ViewerQuery, {}, { token: old })).data?.viewer.role).toBe('AGENT');
    expect((await app.execute(ViewerQuery, {}, { token: rotated })).data?.viewer.role).toBe('AGENT');
    await secret.getByRole('button', { name: 'Done' }).click();

    await card.getByRole('button', { name: 'Revoke' }).click();
    await card.getByRole('button', { name: 'Keep it' }).click();
    expect(await card.getByText('Revoked', { exact: true }).count()).toBe(0);
    await card.getByRole('button', { name: 'Revoke' }).click();
    await card.getByRole('button', { name: 'Yes, revoke' }).click();
    await card.getByText('Revoked', { exact: true }).first().waitFor();
    expect(await card.getByRole('button').count()).toBe(0);

    // The page signed in with it is signed out at once (its live link was closed), and neither
    // value signs in again.
    await agent.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await agent.page.getByText('The token is no longer accepted. Sign in again.').waitFor();
    for (const value of [old, rotated]) expect((await app.execute(ViewerQuery, {}, { token: value })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    for (const value of [old, rotated]) {
      await agent.page.getByLabel('Token').fill(value);
      await agent.page.getByRole('button', { name: 'Sign in' }).click();
      await agent.page.getByText('That token was not accepted.').waitFor();
    }
    await screenshot(agent.page, 'revoked-signed-out');
    expect(problems).toEqual([]);
    expect(agent.problems.filter((p) => !p.includes('401'))).toEqual([]);
  });

  it('fits a phone-sized screen', async () => {
    const { page, problems } = await open(PHONE);
    await openAdmin(page);
    await page.getByRole('article', { name: 'Front desk' }).waitFor();
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, 'admin-phone');
    await page.getByRole('region', { name: 'API tokens' }).getByRole('button', { name: 'New token' }).click();
    await page.getByRole('radio', { name: 'Only these sessions' }).check();
    expect(await overflowsSideways(page)).toBe(false);
    await screenshot(page, 'admin-new-token-phone');
    expect(problems).toEqual([]);
  });
});

describe('the console: the provider token, against a provider of its own (not the sandbox)', () => {
  const token = 'remote-personal-access-token-0101';
  let provider: Awaited<ReturnType<typeof serveSandbox>>;
  let app: TestApp;
  let opened: ConsolePage | undefined;
  beforeAll(async () => {
    provider = await serveSandbox({ personalAccessToken: token });
    app = await startTestApp({ env: { WASENDER_SANDBOX: '0', WASENDER_BASE_URL: provider.apiUrl } });
  }, 120_000);
  afterAll(async () => {
    await opened?.close();
    await app?.stop();
    await provider?.close();
  });

  it('verifies a token with the provider before storing it: a wrong one is refused and nothing changes; a good one shows by its hint', async () => {
    opened = await openPage(browser());
    const { page, problems } = opened;
    await signIn(page, app);
    await page.getByRole('link', { name: 'Admin' }).click();
    const panel = page.getByRole('region', { name: 'Provider' });
    await panel.getByText('none: provider calls fail until one is set').waitFor();
    await panel.getByText(provider.apiUrl).waitFor();

    await panel.getByLabel('Provider token', { exact: true }).fill('definitely-not-the-token');
    await panel.getByRole('button', { name: 'Verify and save' }).click();
    await panel.getByRole('alert').waitFor();
    expect((await app.data(ProviderSettings)).providerSettings).toMatchObject({ configured: false, source: 'NONE' });

    await panel.getByLabel('Provider token', { exact: true }).fill(token);
    await panel.getByRole('button', { name: 'Verify and save' }).click();
    await panel.getByText('The provider accepted the token; it is stored, encrypted.').waitFor();
    await panel.getByText(`…${token.slice(-4)}`).waitFor();
    await panel.getByText('set here, stored encrypted').waitFor();
    expect(await panel.getByLabel('Provider token', { exact: true }).inputValue()).toBe('');
    expect(await page.content()).not.toContain(token);
    expect((await app.data(ProviderSettings)).providerSettings).toMatchObject({ configured: true, source: 'DATABASE', tokenHint: token.slice(-4) });
    await screenshot(page, 'admin-provider-verified');
    expect(problems).toEqual([]);
  });
});

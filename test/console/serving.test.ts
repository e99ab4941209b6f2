/**
 * How /console is served, over HTTP: the page and its bundle from the package (nothing from
 * elsewhere), cached by content, and the development token only for pages opened on this machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { devToken, get } from '../helpers/http.ts';

// The development token's rules are tested with the development app in sessions.test.ts.
describe('serving the console', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
  });

  it('serves the page on every console path, with its own assets only, cached by content and gzipped', async () => {
    for (const path of ['/console', '/console/', '/console/inbox', '/console/sessions/abc']) {
      const page = await get(`${app.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    }
    const html = (await get(`${app.url}/console`)).body.toString();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => !u.startsWith('data:'));
    expect(assets.length).toBe(2);
    for (const asset of assets) {
      // Every reference is to this server.
      expect(asset).toMatch(/^\/console\/assets\/app-[A-Z0-9]+\.(js|css)$/);
      const plain = await get(`${app.url}${asset}`);
      expect(plain.status).toBe(200);
      expect(plain.headers['cache-control']).toContain('immutable');
      const zipped = await get(`${app.url}${asset}`, { 'accept-encoding': 'gzip' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.body.length).toBeLessThan(plain.body.length);
      const again = await get(`${app.url}${asset}`, { 'if-none-match': String(plain.headers.etag) });
      expect(again.status).toBe(304);
    }
    // Nothing loaded from elsewhere: no remote imports, no remote fonts or images in the styles.
    const script = (await get(`${app.url}${assets.find((a) => a.endsWith('.js'))}`)).body.toString();
    const styles = (await get(`${app.url}${assets.find((a) => a.endsWith('.css'))}`)).body.toString();
    expect(script).not.toMatch(/\bimport\s*\(?\s*["'`]https?:/);
    expect(styles).not.toMatch(/@import|url\((?!["']?data:)/);
    expect((await get(`${app.url}/console/assets/app-NOPE.js`)).status).toBe(404);
  });

  it('never hands out a chosen ADMIN_TOKEN (the person who set it knows it), and answers only GET and HEAD', async () => {
    expect(app.running.adminToken!.generated).toBe(false);
    expect(await devToken(app.url)).toBeNull();
    const post = await fetch(`${app.url}/console`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

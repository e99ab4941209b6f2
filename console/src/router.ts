/** Screens are paths under /console, kept in the browser's history (the server answers each with the page). */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console';
const NAVIGATED = 'console:navigate';

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  if (to === location.pathname + location.search) return;
  history[opts.replace ? 'replaceState' : 'pushState'](null, '', to);
  dispatchEvent(new Event(NAVIGATED));
}

export function useLocation(): { path: string; params: URLSearchParams } {
  const read = () => ({ path: location.pathname.replace(/\/+$/, '') || '/', params: new URLSearchParams(location.search) });
  const [current, setCurrent] = useState(read);
  useEffect(() => {
    const update = () => setCurrent(read());
    addEventListener('popstate', update);
    addEventListener(NAVIGATED, update);
    return () => {
      removeEventListener('popstate', update);
      removeEventListener(NAVIGATED, update);
    };
  }, []);
  return current;
}

/** A click on a link that stays in the page, unless the person asked for a new tab or window. */
export function followLink(event: MouseEvent, href: string) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(href);
}

/**
 * Hash routing: `#overview`, `#pins`, `#pins/<id>`, `#prewarm`, `#activity`,
 * `#policy`, `#storage`. Hash routes survive the daemon's index.html fallback and let
 * the tray open the dashboard at a given pin.
 */
import { useEffect, useState } from 'preact/hooks';

/** The dashboard's sections, in tab order. */
export const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'pins', label: 'Pins' },
  { id: 'prewarm', label: 'Pre-warm' },
  { id: 'activity', label: 'Activity' },
  { id: 'policy', label: 'Policy' },
  { id: 'storage', label: 'Storage' },
] as const;

/** One of the dashboard's sections. */
export type TabId = (typeof TABS)[number]['id'];

/** A parsed route: the section, and an optional item within it. */
export interface Route {
  tab: TabId;
  item?: string;
}

/** Parses "#pins/abc" → { tab: 'pins', item: 'abc' }; unknown → overview. */
export function parseRoute(hash: string): Route {
  const [head = '', ...rest] = hash.replace(/^#\/?/, '').split('/');
  const tab = TABS.find((t) => t.id === head)?.id ?? 'overview';
  const item = rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined;
  return item ? { tab, item } : { tab };
}

/** Builds the hash of a route. */
export function routeHash(r: Route): string {
  return `#${r.tab}${r.item ? `/${encodeURIComponent(r.item)}` : ''}`;
}

/** Navigates to a route (pushes history). */
export function navigate(r: Route | string): void {
  const hash = typeof r === 'string' ? `#${r.replace(/^#/, '')}` : routeHash(r);
  if (location.hash !== hash) location.hash = hash;
}

/** The current route, updated on hashchange. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/**
 * The section tabs: buttons with tab roles, roving focus with the arrow
 * keys, Home and End (WAI-ARIA tabs pattern, automatic activation).
 */
import { useRef } from 'preact/hooks';
import { TABS, type TabId } from '../route.js';

/** Tab list; `onSelect` is called on click and on arrow-key moves. */
export function Tabs({
  current,
  onSelect,
  badges,
}: {
  current: TabId;
  onSelect: (id: TabId) => void;
  badges?: Partial<Record<TabId, number>>;
}) {
  const refs = useRef<Array<HTMLButtonElement | null>>([]);
  const move = (from: number, delta: number | 'home' | 'end'): void => {
    const n = TABS.length;
    const to = delta === 'home' ? 0 : delta === 'end' ? n - 1 : (from + delta + n) % n;
    const tab = TABS[to];
    if (!tab) return;
    onSelect(tab.id);
    refs.current[to]?.focus();
  };
  const onKey = (i: number) => (e: KeyboardEvent) => {
    const keys: Record<string, number | 'home' | 'end'> = { ArrowRight: 1, ArrowLeft: -1, Home: 'home', End: 'end' };
    const d = keys[e.key];
    if (d === undefined) return;
    e.preventDefault();
    move(i, d);
  };
  return (
    // biome-ignore lint/a11y/noNoninteractiveElementToInteractiveRole: the WAI-ARIA tabs pattern: the tab list is a nav landmark too
    <nav class="tabs" role="tablist" aria-label="Dashboard sections">
      {TABS.map((t, i) => {
        const selected = t.id === current;
        const badge = badges?.[t.id];
        return (
          <button
            key={t.id}
            ref={(el) => {
              refs.current[i] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={selected}
            aria-controls={`panel-${t.id}`}
            tabIndex={selected ? 0 : -1}
            class={`tab${selected ? ' tab-selected' : ''}`}
            onClick={() => onSelect(t.id)}
            onKeyDown={onKey(i)}
          >
            {t.label}
            {badge ? (
              <span class="tab-badge">
                {badge}
                <span class="sr-only"> need attention</span>
              </span>
            ) : null}
          </button>
        );
      })}
    </nav>
  );
}

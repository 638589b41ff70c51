/**
 * Policy: the supply-chain policy in force (release-age cooldown, OSV
 * blocklist, npm signatures) from `GET /policy`: versions recently held
 * back and until when, versions refused by the blocklist and the record
 * that lists them, registry signature failures, the loaded records and the
 * quarantined cached artifacts. Refreshed every few seconds while open.
 */
import { useEffect, useState } from 'preact/hooks';
import type { PolicyEventInfo, PolicyStatus } from '../../daemon/admin/contract.js';
import { api, toFailure } from '../api.js';
import { Badge, Empty, LoadableView, Stat } from '../components/status.js';
import { formatCount, formatDateTime } from '../format.js';
import type { Loadable } from '../state/store.js';

const REFRESH_MS = 5_000;

function Events({ title, events, testId, until }: { title: string; events: PolicyEventInfo[]; testId: string; until?: boolean }) {
  return (
    <section class="card" data-testid={testId}>
      <h3>{title}</h3>
      {events.length === 0 ? (
        <p class="muted">None since the daemon started.</p>
      ) : (
        <table class="table table-compact" aria-label={title}>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Remote</th>
              <th scope="col">{until ? 'Allowed from' : 'Why'}</th>
              <th scope="col">Last refused</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={`${e.remote}|${e.name}|${e.version}`} data-testid="policy-event" title={e.message}>
                <td>
                  <code>
                    {e.name}@{e.version}
                  </code>
                </td>
                <td>{e.remote}</td>
                <td>{until ? formatDateTime(e.until) : `${e.id ?? ''} ${e.message}`}</td>
                <td>{formatDateTime(e.at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The latest event of each remote, name and version of a reason. */
function latest(events: PolicyEventInfo[], reasons: ReadonlyArray<PolicyEventInfo['reason']>): PolicyEventInfo[] {
  const seen = new Map<string, PolicyEventInfo>();
  for (const e of events)
    if (reasons.includes(e.reason) && !seen.has(`${e.remote}|${e.name}|${e.version}`)) seen.set(`${e.remote}|${e.name}|${e.version}`, e);
  return [...seen.values()];
}

function Body({ s }: { s: PolicyStatus }) {
  const total = (reason: string): number => s.counts.filter((c) => c.reason === reason).reduce((n, c) => n + c.count, 0);
  return (
    <>
      <section class="card">
        <h3>In force</h3>
        <div class="row">
          <Stat label="Release-age cooldown" value={s.minAge === '0' ? 'off' : s.minAge} testId="policy-min-age" />
          <Stat label="Blocklist records" value={formatCount(s.blocklist.records.length)} sub={s.blocklist.folder ?? 'no folder'} />
          <Stat label="On a blocklisted version" value={s.onBlocked} />
          <Stat label="Held back requests" value={formatCount(total('held'))} />
          <Stat label="Blocked requests" value={formatCount(total('blocked'))} />
          <Stat label="Signature failures" value={formatCount(total('signature'))} />
        </div>
        {s.exclude.length ? <p class="muted">Names that skip the cooldown: {s.exclude.join(', ')}</p> : null}
      </section>
      <Events title="Held back" events={latest(s.recent, ['held'])} testId="policy-held" until />
      <Events title="Blocked" events={latest(s.recent, ['blocked', 'warned'])} testId="policy-blocked" />
      <Events title="Signature failures" events={latest(s.recent, ['signature'])} testId="policy-signatures" />
      <section class="card" data-testid="policy-quarantine">
        <h3>Quarantined artifacts</h3>
        {s.quarantined.length === 0 ? (
          <p class="muted">No cached artifact of a blocked version.</p>
        ) : (
          <ul>
            {s.quarantined.map((q) => (
              <li key={q.key}>
                <code>
                  {q.protocol}:{q.name}@{q.version}
                </code>{' '}
                <Badge tone="bad">{q.id}</Badge> <span class="muted">{formatDateTime(q.at)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="card" data-testid="policy-records">
        <h3>Blocklist records</h3>
        {s.blocklist.records.length === 0 ? (
          <Empty title="No OSV records loaded">Import some with larder policy import-osv, or drop them into the blocklist folder.</Empty>
        ) : (
          <ul>
            {s.blocklist.records.map((r) => (
              <li key={r.id}>
                <strong>{r.id}</strong> {r.summary}{' '}
                <span class="muted">
                  {r.affected.map((a) => `${a.ecosystem}:${a.name}${a.versions.length ? `@${a.versions.join(',')}` : ''}`).join('; ')}
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

/** The policy section. */
export function Policy() {
  const [data, setData] = useState<Loadable<PolicyStatus>>({ status: 'loading' });
  const load = async (): Promise<void> => {
    try {
      setData({ status: 'ready', value: await api.policyStatus() });
    } catch (err) {
      setData({ status: 'error', error: toFailure(err) });
    }
  };
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  return (
    <LoadableView data={data} what="the policy" onRetry={() => void load()}>
      {(s) => <Body s={s} />}
    </LoadableView>
  );
}

/**
 * The admin API contract (`/_/api/v1/`, JSON): request and response shapes
 * shared by the daemon, the `larder` CLI, the dashboard and the tray app.
 * A leaf: it imports only its own parts (daemon/admin/contract/, one file
 * per area), so the dashboard, the tray and the CLI can use it without
 * reaching into the daemon; they import this file, the one entry point.
 * The daemon's own types satisfy these shapes structurally.
 *
 * Auth: `Authorization: Bearer <token>` (the admin token in
 * <dataDir>/admin-token, mode 0600, or a scoped token: see TokenScope), or
 * the dashboard's HttpOnly session cookie (writes with it need
 * `Sec-Fetch-Site: same-origin` and `Content-Type: application/json`). Errors:
 * `{ "error": { "code": "E_…", "message": "…" } }` with the HTTP status.
 *
 *   GET    /stats                      → Stats
 *   GET    /stats/history              → StatsPoint[]   (last hour, 10 s steps)
 *   GET    /entries?protocol=&remote=&q=&limit=&cursor=  → Page<EntrySummary>
 *   GET    /pins                       → Pin[]
 *   POST   /pins        PinRequest     → Pin            (400 with message on a bad reference)
 *   GET    /pins/:id                   → Pin
 *   DELETE /pins/:id                   → { removed: true }
 *   GET    /jobs                       → Job[]
 *   POST   /jobs        JobRequest     → Job
 *   GET    /jobs/:id                   → Job
 *   DELETE /jobs/:id                   → Job            (cancelled)
 *   POST   /evict       EvictRequest   → { removed: number; bytes: number }
 *   POST   /scrub       { now?: boolean } → ScrubStatus
 *   POST   /gc                         → { removed: number; bytes: number }
 *   GET    /config                     → effective config, secrets redacted
 *   GET    /audit?since=&limit=        → AuditRecord[]
 *   GET    /activity?kind=&limit=      → ActivityItem[]
 *   POST   /offline     { offline: boolean } → { offline: boolean }
 *   POST   /token/rotate               → { token: string }
 *   GET    /tokens                     → TokenInfo[]    scoped tokens (never their secret)
 *   POST   /tokens      TokenRequest   → TokenCreated   the secret is shown this once
 *   DELETE /tokens/:name               → { revoked: true }
 *   POST   /logout                     → { loggedOut: true }  ends the dashboard session
 *   GET    /events                     → text/event-stream of LiveEvent
 *   POST   /login-link                 → { url: string }  one-time dashboard login link
 *   GET    /feed?since=&wait=&child=&limit= → FeedPage  pin change feed (long-poll up to `wait` s)
 *   GET    /children                   → ChildStatus[]  daemons replicating from this one
 *   POST   /export      ExportRequest  → application/x-tar  an air-gap bundle (streamed)
 *   POST   /import      (tar body)     → ImportReport   verifies everything, then commits
 */

export * from './contract/cache.js';
export * from './contract/pins.js';
export * from './contract/jobs-bundles.js';
export * from './contract/events.js';
export * from './contract/access.js';
export * from './contract/policy.js';
export * from './contract/peers-cluster.js';

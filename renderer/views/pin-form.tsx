/**
 * The "add a pin" form. The daemon owns the reference grammar: its 400
 * message is shown under the field (aria-invalid + aria-describedby); the
 * form only adds a hint about the accepted prefixes.
 */
import { useState } from 'preact/hooks';
import type { Pin } from '../../daemon/admin/contract.js';
import { api, toFailure } from '../api.js';

const PREFIXES = ['npm:', 'oci:', 'pypi:', 'go:', 'url:'];

/** A client-side hint for a reference, or undefined when it looks plausible. */
export function refHint(ref: string): string | undefined {
  const r = ref.trim();
  if (!r) return 'Enter a reference.';
  if (!PREFIXES.some((p) => r.startsWith(p))) return `A reference starts with ${PREFIXES.join(', ')}`;
  return undefined;
}

/** Form posting PinRequest; calls onAdded with the created pin. */
export function AddPinForm({ onAdded }: { onAdded: (pin: Pin) => void }) {
  const [ref, setRef] = useState('');
  const [history, setHistory] = useState(0);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [added, setAdded] = useState<string>();

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const r = ref.trim();
    if (!r) {
      setError('Enter a reference.');
      return;
    }
    setBusy(true);
    setError(undefined);
    setAdded(undefined);
    try {
      const pin = await api.addPin(history > 0 ? { ref: r, history } : { ref: r });
      onAdded(pin);
      setAdded(pin.ref);
      setRef('');
    } catch (err) {
      setError(toFailure(err).message);
    } finally {
      setBusy(false);
    }
  };

  const hint = ref ? refHint(ref) : undefined;
  return (
    <form class="card form" onSubmit={(e) => void submit(e)} aria-label="Add a pin" noValidate>
      <div class="field">
        <label for="pin-ref">Reference</label>
        <input
          id="pin-ref"
          class="input"
          name="ref"
          autocomplete="off"
          spellcheck={false}
          placeholder="npm:left-pad@1.3.0 · oci:docker.io/library/alpine:3.20 · pypi:requests==2.32.3"
          value={ref}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'pin-ref-error' : 'pin-ref-help'}
          onInput={(e) => {
            setRef(e.currentTarget.value);
            setError(undefined);
          }}
        />
        {error ? (
          <div id="pin-ref-error" class="error-text" role="alert" data-testid="pin-error">
            {error}
          </div>
        ) : (
          <div id="pin-ref-help" class="help">
            {hint ??
              'npm:<name>@<version|range|tag>, oci:<host>/<repo>:<tag>|@<digest>, pypi:<name>==<version>, go:<module>@<version>, url:<remote>/<path>'}
          </div>
        )}
      </div>
      <div class="field field-narrow">
        <label for="pin-history">Keep previous</label>
        <input
          id="pin-history"
          class="input input-narrow"
          type="number"
          min={0}
          max={100}
          value={history}
          onInput={(e) => setHistory(Math.max(0, Number(e.currentTarget.value) || 0))}
        />
      </div>
      <button type="submit" class="btn btn-primary" disabled={busy}>
        {busy ? 'Pinning…' : 'Pin'}
      </button>
      {added ? (
        <div class="ok-text" role="status">
          Pinned <code>{added}</code>.
        </div>
      ) : null}
    </form>
  );
}

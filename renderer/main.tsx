/**
 * Dashboard entry point: renders the app into #app. Bundled by
 * renderer/build.ts into dist/renderer/app.js.
 */
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { App } from './app.js';
import { Store } from './state/store.js';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App store={new Store()} />, root);
}

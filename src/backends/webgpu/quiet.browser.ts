/**
 * quiet.ts in the browser build (scripts/build-browser.ts resolves it here): a page has no stderr
 * of Dawn's to capture (Chromium's GPU process owns it), so a probe runs uncaptured.
 */
export { summarizeDawnStderr, uncaptured as quietly, type Quiet } from './dawn-stderr.js';

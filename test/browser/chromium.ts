/**
 * Debian's Chromium, headless, for the browser tests (playwright-core drives it; its own browser
 * downloads are not reachable here). WebGPU on a machine without a GPU: Chromium exposes only its
 * SwiftShader Vulkan adapter (a CPU adapter other than SwiftShader, such as Mesa's lavapipe, must
 * import external images, which lavapipe does not), and CPU adapters are blocklisted unless
 * --enable-unsafe-webgpu.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.GRADREG_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  // root in a container has no user namespaces for the sandbox
  '--no-sandbox',
  // a closed network: nothing to fetch in the background
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // WebGPU on a CPU adapter (SwiftShader), which the adapter blocklist hides otherwise
  '--enable-unsafe-webgpu',
];

/** A fresh headless Chromium with its own profile directory; `webgpu: false` leaves the CPU-adapter blocklist on. */
export async function launchChromium(o: { webgpu?: boolean } = {}): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`browser test: no Chromium at ${CHROMIUM} (install Debian's 'chromium' package, as .ci/run does, or set GRADREG_CHROMIUM)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'gradreg-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: o.webgpu === false ? CHROMIUM_FLAGS.filter((f) => f !== '--enable-unsafe-webgpu') : CHROMIUM_FLAGS,
    viewport: { width: 1100, height: 900 },
  });
}

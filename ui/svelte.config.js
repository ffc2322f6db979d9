import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** A single-page app served by Tauri from the embedded `build/` folder. */
export default {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ fallback: 'index.html', strict: true }),
    // No inline bootstrap script: the CSP allows scripts from 'self' only.
    output: { bundleStrategy: 'single' },
  },
};

import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [sveltekit()],
  clearScreen: false,
  build: { target: 'safari15', sourcemap: false },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});

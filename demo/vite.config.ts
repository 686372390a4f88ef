// The demo app's build: a static site (index.html + hashed assets) that needs
// only the project's URL and anon key, read at run time from supabase-config.json.

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  // Relative asset URLs, so the build works from any folder of any static host.
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  logLevel: 'warn',
});

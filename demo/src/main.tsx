import { createClient } from '@supabase/supabase-js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { loadProjectConfig } from './config.ts';

const root = createRoot(document.getElementById('root') as HTMLElement);

try {
  const { url, anonKey } = await loadProjectConfig();
  const supabase = createClient(url, anonKey);
  root.render(
    <StrictMode>
      <App supabase={supabase} />
    </StrictMode>,
  );
} catch (error) {
  root.render(
    <main className="auth">
      <div className="auth-card" role="alert">
        <h1>The app could not start</h1>
        <p>{(error as Error).message}</p>
      </div>
    </main>,
  );
}

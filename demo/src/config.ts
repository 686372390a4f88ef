// Where the Supabase project is. The page reads supabase-config.json beside
// index.html at start-up: the emulator serves one for its own stack, and a
// deployment puts one next to the built files (README, "The demo app").

export interface ProjectConfig {
  url: string;
  anonKey: string;
}

export async function loadProjectConfig(): Promise<ProjectConfig> {
  const response = await fetch('./supabase-config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`supabase-config.json could not be loaded (HTTP ${response.status})`);
  const config = (await response.json()) as Partial<ProjectConfig>;
  if (typeof config.url !== 'string' || typeof config.anonKey !== 'string') {
    throw new Error('supabase-config.json must hold {"url": "...", "anonKey": "..."}');
  }
  return { url: config.url, anonKey: config.anonKey };
}

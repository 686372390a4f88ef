// Log lines for people: which service, what happened.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(service: string): Logger;
}

export function createLogger(service = 'emulator', quiet = false): Logger {
  const write = (level: string, message: string) => {
    if (quiet && level === 'info') return;
    const line = `${new Date().toISOString().slice(11, 23)} ${level.padEnd(5)} [${service}] ${message}`;
    if (level === 'info') console.log(line);
    else console.error(line);
  };
  return {
    info: (message) => write('info', message),
    warn: (message) => write('warn', message),
    error: (message) => write('error', message),
    child: (name) => createLogger(name, quiet),
  };
}

/** A logger that keeps only warnings and errors (tests start stacks quietly). */
export const quietLogger = (service = 'emulator') => createLogger(service, true);

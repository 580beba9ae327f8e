/**
 * Reading the jobs functions' environment once at start; every error names the variable and what it must hold
 * (the variable names live in each function's settings.ts).
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class JobsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobsConfigError';
  }
}

export function requiredEnv(env: Env, name: string, meaning: string): string {
  const value = env[name]?.trim();
  if (!value) throw new JobsConfigError(`Environment variable ${name} is not set: it must hold ${meaning}.`);
  return value;
}

export function booleanEnv(env: Env, name: string): boolean {
  const value = env[name]?.trim() ?? '';
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new JobsConfigError(`Environment variable ${name} must be 'true' or 'false', got '${value}'.`);
}

export function positiveIntEnv(env: Env, name: string, fallback: number, max: number): number {
  const text = env[name]?.trim() ?? '';
  if (text === '') return fallback;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < 1 || value > max) {
    throw new JobsConfigError(`Environment variable ${name} must be a whole number from 1 to ${max}, got '${text}'.`);
  }
  return value;
}

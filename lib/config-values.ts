/**
 * Parsers for config values that arrive either typed (cdk.json context) or as strings (`-c key=value`).
 * Each throws a ConfigError that names the key, what was given and what is allowed.
 */

export class ConfigError extends Error {
  constructor(key: string, message: string) {
    super(`Invalid config '${key}': ${message}`);
    this.name = 'ConfigError';
  }
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function parseString(key: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(key, `expected a non-empty string, got ${show(value)}`);
  }
  return value.trim();
}

export function parseBoolean(key: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError(key, `expected true or false, got ${show(value)}`);
}

export function parseInteger(key: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(key, `expected an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return n;
}

export function parseEnum<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(key, `expected one of ${allowed.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/** A list given as a JSON array (cdk.json) or a comma-separated string (`-c key=a,b`). */
export function parseList(key: string, value: unknown): string[] {
  let items: unknown[];
  if (Array.isArray(value)) items = value;
  else if (typeof value === 'string') items = value.trim() === '' ? [] : value.split(',');
  else throw new ConfigError(key, `expected a list (JSON array or comma-separated string), got ${show(value)}`);
  return items.map((item) => {
    if (typeof item !== 'string' || item.trim() === '') {
      throw new ConfigError(key, `every item must be a non-empty string, got ${show(item)}`);
    }
    return item.trim();
  });
}

export function parseEnumList<T extends string>(key: string, value: unknown, allowed: readonly T[]): T[] {
  const items = parseList(key, value);
  if (items.length === 0) throw new ConfigError(key, `expected at least one of ${allowed.join(', ')}`);
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) {
    throw new ConfigError(key, `unknown value(s) ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
  }
  return [...new Set(items)] as T[];
}

/** An IPv4 CIDR's shape (parseCidr also checks the octet and mask ranges). */
export const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function parseCidr(key: string, value: string): string {
  const m = CIDR_PATTERN.exec(value);
  const valid = m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
  if (!valid) throw new ConfigError(key, `expected an IPv4 CIDR such as 10.0.0.0/16, got ${show(value)}`);
  return value;
}

/**
 * S3 bucket naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function parseBucketName(key: string, value: unknown): string {
  const name = parseString(key, value);
  const problems: string[] = [];
  if (name.length < 3 || name.length > 63) problems.push('must be 3 to 63 characters long');
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    problems.push('may hold only lowercase letters, digits, dots and hyphens, and start and end with a letter or digit');
  }
  if (name.includes('..')) problems.push('must not contain two adjacent dots');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) problems.push('must not look like an IP address');
  if (problems.length > 0) throw new ConfigError(key, `bucket name ${show(name)} ${problems.join('; ')}`);
  return name;
}

/**
 * An IAM principal that administers the cluster. Accepts the ARN of an IAM role or user, or the STS
 * assumed-role ARN that `aws sts get-caller-identity` prints. Role ARNs come back without their path
 * (SSO roles live under /aws-reserved/...), the form the aws-auth ConfigMap matches.
 */
export function parseAdminPrincipalArn(key: string, value: unknown): string {
  const arn = parseString(key, value);
  const assumed = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/[\w+=,.@-]+$/.exec(arn);
  if (assumed) return `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`;
  const role = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(arn);
  // aws-auth matches role ARNs without their path (https://docs.aws.amazon.com/eks/latest/userguide/auth-configmap.html).
  if (role) return `arn:${role[1]}:iam::${role[2]}:role/${role[3]}`;
  if (/^arn:aws[a-z-]*:iam::\d{12}:user\/[\w+=,.@/-]+$/.test(arn)) return arn;
  throw new ConfigError(
    key,
    `expected an IAM role or user ARN, or the output of 'aws sts get-caller-identity --query Arn --output text', got ${show(arn)}`,
  );
}

declare const KUBECTL_DEV_VERSION: string | undefined;
/** Set at build time by scripts/build.ts from package.json. */
export const VERSION = typeof KUBECTL_DEV_VERSION === 'string' ? KUBECTL_DEV_VERSION : '0.0.0-dev';

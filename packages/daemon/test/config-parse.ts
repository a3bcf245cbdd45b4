/** vsd.yaml parsed as the daemon parses it, and the message of a refusal (which must carry VSD_ERR_CONFIG). */
import { expect } from 'vitest';
import { parseConfigText } from '../src/config-load.js';

export const parse = (text: string) => parseConfigText(text, 'vsd.yaml');

export function refusal(text: string): string {
  try {
    parse(text);
  } catch (err) {
    expect((err as { code: string }).code).toBe('VSD_ERR_CONFIG');
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

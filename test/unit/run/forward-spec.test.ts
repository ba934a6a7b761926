import { describe, expect, it } from 'vitest';
import { listenAddresses, parseForwardSpec, parseForwardSpecs } from '../../../src/config/forward-spec.ts';

describe('forward specs', () => {
  it('reads LOCAL:REMOTE, :REMOTE and PORT as kubectl port-forward does', () => {
    expect(parseForwardSpec('8080:9080', '-p')).toEqual({ local: 8080, remote: 9080, text: '8080:9080' });
    expect(parseForwardSpec(':9229', '-p')).toEqual({ local: 0, remote: 9229, text: ':9229' });
    expect(parseForwardSpec(3000, '-p')).toEqual({ local: 3000, remote: 3000, text: '3000' });
  });

  it('says what is wrong and where', () => {
    expect(() => parseForwardSpec('80:x', '--forward')).toThrow(/^--forward: "80:x" is not LOCAL:REMOTE, :REMOTE or PORT$/);
    expect(() => parseForwardSpec('70000', '--forward')).toThrow(/ports are 1 to 65535/);
    expect(() => parseForwardSpec('0:80', '--forward')).toThrow(/ports are 1 to 65535/);
    expect(() => parseForwardSpecs(['8080:80', '8080:81'], '--forward')).toThrow(/local port 8080 is given twice \(8080:80 and 8080:81\)/);
    expect(parseForwardSpecs(['8080:80', '8080:80', ':80'], '--forward')).toHaveLength(2);
  });

  it('--address: IPs or localhost (both loopbacks, ::1 optional)', () => {
    expect(listenAddresses([])).toEqual([{ host: '127.0.0.1', optional: false }]);
    expect(listenAddresses(['localhost'])).toEqual([{ host: '127.0.0.1', optional: false }, { host: '::1', optional: true }]);
    expect(listenAddresses(['127.0.0.1,0.0.0.0'])).toEqual([{ host: '127.0.0.1', optional: false }, { host: '0.0.0.0', optional: false }]);
    expect(() => listenAddresses(['example.com'])).toThrow(/--address: "example.com" is not an IP address or localhost/);
  });
});

import { describe, expect, it } from 'vitest';
import { formatAgentCheck, parseAgentCheck } from '../../src/agents/agent-check.js';

describe('HAProxy agent-check parser', () => {
  it('reads the documented words in any order with any separator', () => {
    expect(parseAgentCheck('up 75%\n')).toEqual({ state: 'up', weightPct: 75, unknown: [] });
    expect(parseAgentCheck('75%,maxconn:30\tready\r')).toEqual({ admin: 'ready', weightPct: 75, maxconn: 30, unknown: [] });
    expect(parseAgentCheck('weight:12\n')).toEqual({ weight: 12, unknown: [] });
    expect(parseAgentCheck('weight:50%\n')).toEqual({ weightPct: 50, unknown: [] });
    expect(parseAgentCheck('drain\n')).toEqual({ admin: 'drain', unknown: [] });
    expect(parseAgentCheck('MAINT\n')).toEqual({ admin: 'maint', unknown: [] });
  });

  it('takes the description after # to the end of the line', () => {
    expect(parseAgentCheck('down #storage broken, /srv not mounted\nignored')).toEqual({
      state: 'down',
      description: 'storage broken, /srv not mounted',
      unknown: [],
    });
    expect(parseAgentCheck('fail\n')?.state).toBe('fail');
    expect(parseAgentCheck('stopped #bye\n')).toMatchObject({ state: 'stopped', description: 'bye' });
  });

  it('needs a terminated line and keeps unknown words', () => {
    expect(parseAgentCheck('up 75%')).toBeNull();
    expect(parseAgentCheck('up banana\n')).toEqual({ state: 'up', unknown: ['banana'] });
  });
});

describe('vsd-agent agent-check answers', () => {
  it('says maint, down with a reason, drain at 0 % or up ready with the weight', () => {
    expect(formatAgentCheck({ maintenance: true, downReason: 'x', weightPct: 50 })).toBe('maint\n');
    expect(formatAgentCheck({ maintenance: false, downReason: 'storage broken: /srv is not mounted', weightPct: 50 })).toBe(
      'down #storage broken: /srv is not mounted\n',
    );
    expect(formatAgentCheck({ maintenance: false, downReason: null, weightPct: 0 })).toBe('up drain\n');
    expect(formatAgentCheck({ maintenance: false, downReason: null, weightPct: 75 })).toBe('up ready 75%\n');
  });

  it('keeps a reason with line breaks on one line, and parses back', () => {
    const line = formatAgentCheck({ maintenance: false, downReason: 'a\nb\rc', weightPct: 10 });
    expect(line).toBe('down #a b c\n');
    expect(parseAgentCheck(line)).toEqual({ state: 'down', description: 'a b c', unknown: [] });
    expect(parseAgentCheck(formatAgentCheck({ maintenance: false, downReason: null, weightPct: 75 }))).toEqual({
      state: 'up',
      admin: 'ready',
      weightPct: 75,
      unknown: [],
    });
  });
});

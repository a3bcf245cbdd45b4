/**
 * HAProxy's agent-check text protocol (configuration.txt, "agent-check"): one ASCII line ended by CR or LF, words
 * separated by spaces, tabs or commas, in any order. `vsd-agent` answers it; the parser lets vsd (and its tests)
 * read what any HAProxy-style agent says.
 */

export type AgentCheckState = 'up' | 'down' | 'fail' | 'stopped';
export type AgentCheckAdmin = 'ready' | 'drain' | 'maint';

export interface AgentCheckReply {
  /** Operational state word, if the line had one. */
  state?: AgentCheckState;
  /** `#description` text following down/fail/stopped. */
  description?: string;
  admin?: AgentCheckAdmin;
  /** `75%` or `weight:75%`: relative to the server's initial weight. */
  weightPct?: number;
  /** `weight:12`: absolute weight (0..256). */
  weight?: number;
  maxconn?: number;
  /** Words the grammar does not know (HAProxy ignores them). */
  unknown: string[];
}

/** Parse one agent-check line. Returns null when no terminated line is present in `text`. */
export function parseAgentCheck(text: string): AgentCheckReply | null {
  const end = text.search(/[\r\n]/);
  if (end < 0) return null;
  const line = text.slice(0, end);
  const out: AgentCheckReply = { unknown: [] };
  // The description runs to the end of the line, separators included.
  const hash = line.indexOf('#');
  const words = (hash >= 0 ? line.slice(0, hash) : line).split(/[ \t,]+/).filter(Boolean);
  if (hash >= 0) out.description = line.slice(hash + 1).trim();
  for (const raw of words) {
    const w = raw.toLowerCase();
    let m: RegExpExecArray | null;
    if (w === 'up' || w === 'down' || w === 'fail' || w === 'stopped') out.state = w;
    else if (w === 'ready' || w === 'drain' || w === 'maint') out.admin = w;
    else if ((m = /^(\d+)%$/.exec(w))) out.weightPct = Number(m[1]);
    else if ((m = /^weight:(\d+)(%?)$/.exec(w))) {
      if (m[2]) out.weightPct = Number(m[1]);
      else out.weight = Number(m[1]);
    } else if ((m = /^maxconn:(\d+)$/.exec(w))) out.maxconn = Number(m[1]);
    else out.unknown.push(raw);
  }
  return out;
}

export interface AgentCheckInput {
  maintenance: boolean;
  /** Why the node must not take traffic (broken storage, failed service probe), or null. */
  downReason: string | null;
  weightPct: number;
}

/**
 * The line vsd-agent answers. `ready` is always sent with `up` because HAProxy keeps a DRAIN or MAINT the agent set
 * earlier until the agent itself cancels it ("only the agent may revert its own actions").
 */
export function formatAgentCheck(input: AgentCheckInput): string {
  if (input.maintenance) return 'maint\n';
  if (input.downReason !== null) return `down #${sanitize(input.downReason)}\n`;
  const pct = Math.max(0, Math.min(100, Math.round(input.weightPct)));
  if (pct === 0) return 'up drain\n';
  return `up ready ${pct}%\n`;
}

function sanitize(text: string): string {
  // A CR or LF would end the line early; keep it printable ASCII.
  return text.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200);
}

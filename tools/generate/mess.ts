/**
 * The documented rates of each kind of mess the generator puts in the landing zone, and the
 * helper that picks which messages get it. Kinds are exclusive per message, and a kind with a
 * minimum is forced onto randomly chosen clean messages when chance alone gave fewer.
 */
import type { Rng } from './prng.js';

/** Mess applied to one stream message. */
export type MessageMess =
  | 'late' // produced (and so landed) 1-8 h after its event time
  | 'redeliverNear' // the same envelope lands twice within seconds (usually the same file)
  | 'redeliverFar' // the same envelope lands again 6-30 h later (often a later arrival)
  | 'retry' // the producer sends the same record again: a new offset, same content
  | 'truncated' // the landed line is cut short: not valid JSON
  | 'wrongType' // bpm only: heartrate is the string "abc"
  | 'impossible'; // bpm only: heartrate 0, 400 or 260

/** Rate per message and minimum count per simulated day (or per run for user_info). */
export interface MessRate {
  readonly rate: number;
  readonly min: number;
}

/** Mess of heart-rate messages, per simulated day. */
export const BPM_MESS: Readonly<Partial<Record<MessageMess, MessRate>>> = {
  late: { rate: 0.002, min: 1 },
  redeliverNear: { rate: 0.002, min: 1 },
  redeliverFar: { rate: 0.001, min: 1 },
  retry: { rate: 0.002, min: 1 },
  truncated: { rate: 0.001, min: 1 },
  wrongType: { rate: 0.0005, min: 1 },
  impossible: { rate: 0.001, min: 1 },
};

/** Mess of workout start/stop messages, per simulated day. */
export const WORKOUT_MESS: Readonly<Partial<Record<MessageMess, MessRate>>> = {
  late: { rate: 0.02, min: 0 },
  redeliverNear: { rate: 0.01, min: 0 },
  redeliverFar: { rate: 0.01, min: 0 },
  retry: { rate: 0.01, min: 0 },
  truncated: { rate: 0.005, min: 0 },
};

/** Mess of profile-change messages, over the whole run (scenarios with lateness are forced separately). */
export const USER_INFO_MESS: Readonly<Partial<Record<MessageMess, MessRate>>> = {
  redeliverNear: { rate: 0.03, min: 1 },
  redeliverFar: { rate: 0.03, min: 0 },
  retry: { rate: 0.03, min: 1 },
};

/** Other rates, documented in tools/generate/README.md. */
export const RATES = {
  /** A user-day whose watch was offline during one workout: its readings sync 10 min-3 h after it ends (min one per day). */
  offlineWorkout: 0.05,
  /** A registered_users row extracted again in the next hourly extract (min one per run). */
  reextractUser: 0.05,
  /** A gym_logins row extracted again in the next hourly extract (min one per day). */
  reextractVisit: 0.03,
  /** A workout whose stop never comes (the watch died). */
  abandonedWorkout: 0.02,
  /** A workout stopped in the same second it started (so never a completed workout). */
  zeroLengthWorkout: 0.01,
  /** A user deleted during the run (min one per run, when there are at least 3 users). */
  deletedUser: 0.03,
  /** A user with one, or two, profile updates. */
  oneUpdate: 0.2,
  twoUpdates: 0.08,
} as const;

/**
 * Chooses the mess of each item: one draw per item against the cumulative rates, then forced
 * minimums on clean items. Returns a map item index -> kind.
 */
export function assignMess(
  rng: Rng,
  count: number,
  rates: Readonly<Partial<Record<MessageMess, MessRate>>>,
  eligible: (index: number) => boolean = () => true,
): Map<number, MessageMess> {
  const kinds = Object.entries(rates) as [MessageMess, MessRate][];
  const chosen = new Map<number, MessageMess>();
  const perKind = new Map<MessageMess, number>();
  for (let i = 0; i < count; i++) {
    const u = rng.next();
    if (!eligible(i)) continue;
    let acc = 0;
    for (const [kind, r] of kinds) {
      acc += r.rate;
      if (u < acc) {
        chosen.set(i, kind);
        perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
        break;
      }
    }
  }
  for (const [kind, r] of kinds) {
    let have = perKind.get(kind) ?? 0;
    // A bounded number of attempts: small inputs may not have enough clean items.
    for (let attempt = 0; have < r.min && attempt < 50 && count > 0; attempt++) {
      const i = rng.int(0, count - 1);
      if (chosen.has(i) || !eligible(i)) continue;
      chosen.set(i, kind);
      have++;
    }
  }
  return chosen;
}

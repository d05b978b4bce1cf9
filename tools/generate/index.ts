/**
 * The landing-zone generator of the reference project (the wearables company of seed 002):
 * registered users and gym logins as CSV extracts, user_info, bpm and workout as Kafka envelopes.
 * See tools/generate/README.md for the layout and the mess it puts in on purpose.
 */
export { DEFAULT_START_DATE, LandingGenerator, generateLanding, listFiles, parseStartDate } from './generator.js';
export type { ArrivalInfo, GenerateOptions } from './generator.js';
export { BPM_MESS, RATES, USER_INFO_MESS, WORKOUT_MESS } from './mess.js';

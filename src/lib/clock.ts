/** A source of the current time; tests inject a fixed or advancing clock. */
export interface Clock {
  now(): Date;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that tests move by hand.
 * @example const clock = new ManualClock(new Date('2026-01-01T00:00:00Z')); clock.advanceSeconds(30);
 */
export class ManualClock implements Clock {
  #ms: number;
  constructor(start: Date = new Date()) {
    this.#ms = start.getTime();
  }
  now(): Date {
    return new Date(this.#ms);
  }
  set(date: Date): void {
    this.#ms = date.getTime();
  }
  advanceSeconds(seconds: number): void {
    this.#ms += seconds * 1000;
  }
}
